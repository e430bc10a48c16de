// sk.cc: see sk.h (being written).
#include "control/ike/sk.h"
