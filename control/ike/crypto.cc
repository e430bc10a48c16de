// crypto.cc: see crypto.h (being written).
#include "control/ike/crypto.h"
