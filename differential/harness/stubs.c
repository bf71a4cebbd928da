/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   What lib/nvmf needs from libraries the harness does not link.
 *   - lib/nvme: the transport-ID helpers, written as lib/nvme/nvme.c does them for TCP, and the
 *     command printers (no-ops: they only log).
 *   - lib/accel: the channel the TCP poll group and the bdev layer hold (below).
 */
#include "spdk/stdinc.h"
#include "spdk/nvme.h"
#include "spdk/bdev.h"
#include "spdk/bdev_module.h"
#include "spdk/bdev_zone.h"
#include "spdk/accel.h"
#include "spdk/crc32.h"
#include "spdk/thread.h"

static int
cmp_int(int a, int b)
{
	return a - b;
}

int
spdk_nvme_transport_id_compare(const struct spdk_nvme_transport_id *trid1,
			       const struct spdk_nvme_transport_id *trid2)
{
	int cmp = cmp_int(trid1->trtype, trid2->trtype);

	if (cmp == 0) {
		cmp = strcasecmp(trid1->traddr, trid2->traddr);
	}
	if (cmp == 0) {
		cmp = cmp_int(trid1->adrfam, trid2->adrfam);
	}
	if (cmp == 0) {
		cmp = strcasecmp(trid1->trsvcid, trid2->trsvcid);
	}
	if (cmp == 0) {
		cmp = strcmp(trid1->subnqn, trid2->subnqn);
	}
	return cmp;
}

const char *
spdk_nvme_transport_id_trtype_str(enum spdk_nvme_transport_type trtype)
{
	return trtype == SPDK_NVME_TRANSPORT_TCP ? "TCP" : NULL;
}

const char *
spdk_nvme_transport_id_adrfam_str(enum spdk_nvmf_adrfam adrfam)
{
	return adrfam == SPDK_NVMF_ADRFAM_IPV4 ? "IPv4" : adrfam == SPDK_NVMF_ADRFAM_IPV6 ? "IPv6" : NULL;
}

void
spdk_nvme_print_command(uint16_t qid, struct spdk_nvme_cmd *cmd)
{
}

void
spdk_nvme_print_completion(uint16_t qid, struct spdk_nvme_cpl *cpl)
{
}

#if DIFF_SPDK_VERSION >= 9999
void
spdk_nvme_print_completion_ext(uint16_t qid, const struct spdk_nvme_cpl *cpl, uint8_t opc)
{
}
#endif

uint32_t
spdk_nvme_ns_get_format_index(const struct spdk_nvme_ns_data *nsdata)
{
	return 0;
}



void
spdk_nvme_trid_populate_transport(struct spdk_nvme_transport_id *trid,
				  enum spdk_nvme_transport_type trtype)
{
	trid->trtype = trtype;
	snprintf(trid->trstring, SPDK_NVMF_TRSTRING_MAX_LEN, "%s",
		 trtype == SPDK_NVME_TRANSPORT_TCP ? SPDK_NVME_TRANSPORT_NAME_TCP : "?");
}

/* lib/accel: the TCP poll group holds an accel channel and computes digests through it. The
 * harness's accel is an io_device with no state whose CRC-32C runs synchronously on the
 * caller (SPDK's software module completes it from a poller one iteration later: only stories
 * with digests enabled could tell the difference). */
static int g_accel_dev;

static int
accel_ch_create(void *io_device, void *ctx)
{
	return 0;
}

static void
accel_ch_destroy(void *io_device, void *ctx)
{
}

struct spdk_io_channel *
spdk_accel_get_io_channel(void)
{
	static bool registered;

	if (!registered) {
		spdk_io_device_register(&g_accel_dev, accel_ch_create, accel_ch_destroy, 0, "accel");
		registered = true;
	}
	return spdk_get_io_channel(&g_accel_dev);
}

int
spdk_accel_submit_crc32cv(struct spdk_io_channel *ch, uint32_t *crc_dst, struct iovec *iovs,
			  uint32_t iovcnt, uint32_t seed, spdk_accel_completion_cb cb_fn, void *cb_arg)
{
	*crc_dst = spdk_crc32c_iov_update(iovs, iovcnt, ~seed);
	cb_fn(cb_arg, 0);
	return 0;
}
