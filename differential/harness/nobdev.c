/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   The bdev calls lib/nvmf makes once a namespace exists.
 *   (The keyring calls at the end are the same kind of stand-in.) No bdev layer is linked (stubs.c's
 *   spdk_bdev_open_ext fails), so none of these is reachable; each aborts loudly if it is.
 *   No SPDK header is included: these symbols only have to exist for the linker.
 */
#include <stdio.h>
#include <stdlib.h>

/* Everything below needs an open bdev, which never exists here. */
#define NO_BDEV(name) void name(void); void name(void) { fprintf(stderr, "harness: %s called without a bdev\n", #name); abort(); }
NO_BDEV(spdk_bdev_abort)
NO_BDEV(spdk_bdev_close)
NO_BDEV(spdk_bdev_comparev_and_writev_blocks)
NO_BDEV(spdk_bdev_comparev_blocks)
NO_BDEV(spdk_bdev_copy_blocks)
NO_BDEV(spdk_bdev_desc_get_bdev)
NO_BDEV(spdk_bdev_flush_blocks)
NO_BDEV(spdk_bdev_free_io)
NO_BDEV(spdk_bdev_get_acwu)
NO_BDEV(spdk_bdev_get_block_size)
NO_BDEV(spdk_bdev_get_data_block_size)
NO_BDEV(spdk_bdev_get_dif_type)
NO_BDEV(spdk_bdev_get_io_channel)
NO_BDEV(spdk_bdev_get_max_active_zones)
NO_BDEV(spdk_bdev_get_max_copy)
NO_BDEV(spdk_bdev_get_max_open_zones)
NO_BDEV(spdk_bdev_get_max_zone_append_size)
NO_BDEV(spdk_bdev_get_md_size)
NO_BDEV(spdk_bdev_get_name)
NO_BDEV(spdk_bdev_get_num_blocks)
NO_BDEV(spdk_bdev_get_optimal_io_boundary)
NO_BDEV(spdk_bdev_get_physical_block_size)
NO_BDEV(spdk_bdev_get_uuid)
NO_BDEV(spdk_bdev_get_write_unit_size)
NO_BDEV(spdk_bdev_get_zone_size)
NO_BDEV(spdk_bdev_io_get_iovec)
NO_BDEV(spdk_bdev_io_get_nvme_fused_status)
NO_BDEV(spdk_bdev_io_get_nvme_status)
NO_BDEV(spdk_bdev_io_type_supported)
NO_BDEV(spdk_bdev_is_dif_check_enabled)
NO_BDEV(spdk_bdev_is_dif_head_of_md)
NO_BDEV(spdk_bdev_is_md_interleaved)
NO_BDEV(spdk_bdev_is_zoned)
NO_BDEV(spdk_bdev_module_claim_bdev)
NO_BDEV(spdk_bdev_module_release_bdev)
NO_BDEV(spdk_bdev_nvme_admin_passthru)
NO_BDEV(spdk_bdev_nvme_iov_passthru_md)
NO_BDEV(spdk_bdev_queue_io_wait)
NO_BDEV(spdk_bdev_readv_blocks_ext)
NO_BDEV(spdk_bdev_reset)
NO_BDEV(spdk_bdev_unmap_blocks)
NO_BDEV(spdk_bdev_write_zeroes_blocks)
NO_BDEV(spdk_bdev_writev_blocks_ext)
NO_BDEV(spdk_bdev_zcopy_end)
NO_BDEV(spdk_bdev_zcopy_start)
NO_BDEV(spdk_bdev_get_nvme_ctratt)

/* lib/keyring (v24.05+): no keyring is linked and stories use no TLS or DH-HMAC-CHAP keys, so
 * no key is ever found; releasing "no key" is a no-op, anything else aborts loudly. */
void *spdk_keyring_get_key(const char *name);
void *
spdk_keyring_get_key(const char *name)
{
	return NULL;
}

void spdk_keyring_put_key(void *key);
void
spdk_keyring_put_key(void *key)
{
	if (key != NULL) {
		fprintf(stderr, "harness: spdk_keyring_put_key on a key that cannot exist\n");
		abort();
	}
}

NO_BDEV(spdk_key_dup)
NO_BDEV(spdk_key_get_name)
NO_BDEV(spdk_key_get_key)

/* master (after v26.05): more descriptor-based bdev calls, same status. */
NO_BDEV(spdk_bdev_desc_get_block_size)
NO_BDEV(spdk_bdev_desc_get_dif_pi_format)
NO_BDEV(spdk_bdev_desc_get_dif_type)
NO_BDEV(spdk_bdev_desc_get_md_size)
NO_BDEV(spdk_bdev_desc_hide_metadata)
NO_BDEV(spdk_bdev_desc_is_dif_check_enabled)
NO_BDEV(spdk_bdev_desc_is_dif_head_of_md)
NO_BDEV(spdk_bdev_desc_is_md_interleaved)
NO_BDEV(spdk_bdev_get_by_name)
NO_BDEV(spdk_bdev_get_dif_pi_format)
NO_BDEV(spdk_bdev_get_nvme_nsid)
NO_BDEV(spdk_bdev_get_optimal_write_size)
NO_BDEV(spdk_bdev_get_preferred_unmap_alignment)
NO_BDEV(spdk_bdev_get_preferred_unmap_granularity)
NO_BDEV(spdk_bdev_get_preferred_write_alignment)
NO_BDEV(spdk_bdev_get_preferred_write_granularity)
NO_BDEV(spdk_bdev_has_write_cache)
NO_BDEV(spdk_bdev_nvme_nssr)
NO_BDEV(spdk_bdev_open_ext_v2)
NO_BDEV(spdk_bdev_open_opts_init)
