// Internal header of the DHCPv4 client; the API is public in libstack/dhcp.h.
#pragma once
#include "libstack/dhcp.h"
#include "wire/dhcp.h"
