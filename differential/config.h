/*   SPDX-License-Identifier: BSD-3-Clause
 *   Hand-written stand-in for the include/spdk/config.h that SPDK's configure generates.
 *   Only the switches the libraries the differential harness compiles look at: no ISA-L (the
 *   snapshots carry no submodules), no USDT probes, libuuid with generate_sha1 (util-linux).
 */
#ifndef SPDK_CONFIG_H
#define SPDK_CONFIG_H
#define SPDK_CONFIG_HAVE_LIBUUID 1
#define SPDK_CONFIG_HAVE_UUID_GENERATE_SHA1 1
#define SPDK_CONFIG_MAX_NUMA_NODES 1
#define SPDK_CONFIG_DEBUG 1
#define SPDK_CONFIG_ASAN 1
#endif
