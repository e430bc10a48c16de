// auth.cc: see auth.h (being written).
#include "control/ike/auth.h"
