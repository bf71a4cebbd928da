/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   What lib/bdev and lib/nvmf call in libraries the harness does not link, as SPDK's own unit
 *   tests stub them (test/common/lib/bdev/common_stubs.h):
 *   - lib/notify: bdev registration events go nowhere;
 *   - lib/dma: no memory domains exist, so these are never reached (abort if they are);
 *   - lib/accel sequences: the bdev layer only builds one when a caller passes an accel sequence,
 *     and lib/nvmf never does (abort if reached);
 *   - lib/keyring (v24.05+): no key ever exists, so TLS and DH-HMAC-CHAP stories cannot run.
 *   No SPDK header is included: these symbols only have to exist for the linker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

#define UNREACHABLE(name) void name(void); void name(void) { fprintf(stderr, "harness: %s called\n", #name); abort(); }

int spdk_notify_send(const char *type, const char *ctx);
int
spdk_notify_send(const char *type, const char *ctx)
{
	return 0;
}

void *spdk_notify_type_register(const char *type);
void *
spdk_notify_type_register(const char *type)
{
	static int token;

	return &token;
}

UNREACHABLE(spdk_memory_domain_get_dma_device_id)
UNREACHABLE(spdk_memory_domain_get_dma_device_type)
UNREACHABLE(spdk_memory_domain_pull_data)
UNREACHABLE(spdk_memory_domain_push_data)
UNREACHABLE(spdk_memory_domain_translate_data)
UNREACHABLE(spdk_memory_domain_get_system_domain)
UNREACHABLE(spdk_memory_domain_memzero)
UNREACHABLE(spdk_accel_append_copy)
UNREACHABLE(spdk_accel_append_dif_generate_copy)
UNREACHABLE(spdk_accel_append_dif_verify_copy)
UNREACHABLE(spdk_accel_get_buf)
UNREACHABLE(spdk_accel_get_memory_domain)
UNREACHABLE(spdk_accel_put_buf)
UNREACHABLE(spdk_accel_sequence_abort)
UNREACHABLE(spdk_accel_sequence_finish)
UNREACHABLE(spdk_accel_sequence_reverse)

/* lib/keyring (v24.05, master): releasing "no key" is a no-op, anything else aborts. */
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

UNREACHABLE(spdk_key_dup)
UNREACHABLE(spdk_key_get_name)
UNREACHABLE(spdk_key_get_key)
