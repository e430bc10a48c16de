// message.cc: see message.h (being written).
#include "control/ike/message.h"
