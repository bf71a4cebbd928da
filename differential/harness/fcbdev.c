/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   The story's namespaces as bdevs: a RAM bdev module ("fabcheck_ram") registered with SPDK's
 *   real bdev layer (lib/bdev). lib/nvmf opens, reads, writes and flushes these bdevs through
 *   the bdev API exactly as it does any other; the module only decides *when* an I/O completes.
 *
 *   The model completes device I/O on a story step (`complete ID`, ids counted from 1 in
 *   submission order, like the model's DeviceIoId), so submit_request queues every I/O and
 *   fcbdev_complete() finishes one: it copies the data (RAM, unwritten blocks read as zeros)
 *   and calls spdk_bdev_io_complete on the thread that submitted it, as a real device's
 *   completion poller does. Resets complete at once (the model's RAM namespaces do too).
 *
 *   Owns: the RAM of each bdev and the FIFO of submitted, uncompleted I/O.
 *   Invariant: an I/O is completed exactly once, on the thread that submitted it.
 */
#include "spdk/stdinc.h"
#include "spdk/bdev.h"
#include "spdk/bdev_module.h"
#include "spdk/thread.h"
#include "spdk/queue.h"
#include "harness.h"
#include "story.h"

struct fcbdev {
	struct spdk_bdev bdev;
	uint8_t *ram;
};

struct fcbdev_io {
	uint64_t id;
	struct spdk_bdev_io *bdev_io;
	TAILQ_ENTRY(fcbdev_io) link;
};

static TAILQ_HEAD(, fcbdev_io) g_pending = TAILQ_HEAD_INITIALIZER(g_pending);
static uint64_t g_next_id = 1; /* the model counts device I/O from 1 */
static int g_io_dev;

static int fcbdev_init(void);
static int fcbdev_get_ctx_size(void);

static struct spdk_bdev_module g_fc_module = {
	.name = "fabcheck_ram",
	.module_init = fcbdev_init,
	.get_ctx_size = fcbdev_get_ctx_size,
};
SPDK_BDEV_MODULE_REGISTER(fabcheck_ram, &g_fc_module)

static int
ch_create(void *io_device, void *ctx)
{
	return 0;
}

static void
ch_destroy(void *io_device, void *ctx)
{
}

static int
fcbdev_init(void)
{
	spdk_io_device_register(&g_io_dev, ch_create, ch_destroy, 0, "fabcheck_ram");
	return 0;
}

static int
fcbdev_get_ctx_size(void)
{
	return sizeof(struct fcbdev_io);
}

static int
fc_destruct(void *ctx)
{
	return 0;
}

static bool
fc_io_type_supported(void *ctx, enum spdk_bdev_io_type type)
{
	return type == SPDK_BDEV_IO_TYPE_READ || type == SPDK_BDEV_IO_TYPE_WRITE ||
	       type == SPDK_BDEV_IO_TYPE_FLUSH || type == SPDK_BDEV_IO_TYPE_RESET;
}

static struct spdk_io_channel *
fc_get_io_channel(void *ctx)
{
	return spdk_get_io_channel(&g_io_dev);
}

static void
fc_submit(struct spdk_io_channel *ch, struct spdk_bdev_io *bdev_io)
{
	struct fcbdev_io *io = (struct fcbdev_io *)bdev_io->driver_ctx;

	if (bdev_io->type == SPDK_BDEV_IO_TYPE_RESET) {
		spdk_bdev_io_complete(bdev_io, SPDK_BDEV_IO_STATUS_SUCCESS);
		return;
	}
	io->id = g_next_id++;
	io->bdev_io = bdev_io;
	TAILQ_INSERT_TAIL(&g_pending, io, link);
	printf("    device io %" PRIu64 " submitted: %s on %s\n", io->id,
	       bdev_io->type == SPDK_BDEV_IO_TYPE_READ ? "read" : bdev_io->type == SPDK_BDEV_IO_TYPE_WRITE ?
	       "write" : "flush", bdev_io->bdev->name);
}

static const struct spdk_bdev_fn_table g_fc_fn_table = {
	.destruct = fc_destruct,
	.submit_request = fc_submit,
	.io_type_supported = fc_io_type_supported,
	.get_io_channel = fc_get_io_channel,
};

int
fcbdev_create(const char *name, uint64_t blocks, uint32_t block_size, uint32_t uuid_seed)
{
	struct fcbdev *d = calloc(1, sizeof(*d));

	d->ram = calloc(blocks, block_size);
	d->bdev.name = strdup(name);
	d->bdev.product_name = "fabcheck RAM";
	d->bdev.blocklen = block_size;
	d->bdev.blockcnt = blocks;
	d->bdev.module = &g_fc_module;
	d->bdev.fn_table = &g_fc_fn_table;
	d->bdev.ctxt = d;
	/* A fixed UUID per namespace (bdev_register would draw a random one). */
	memcpy(&d->bdev.uuid, &uuid_seed, sizeof(uuid_seed));
	d->bdev.uuid.u.raw[15] = 0xfc;
	return spdk_bdev_register(&d->bdev);
}

/* Copies between the bdev's RAM and the I/O's buffers. */
static void
fc_transfer(struct spdk_bdev_io *bdev_io)
{
	struct fcbdev *d = bdev_io->bdev->ctxt;
	uint64_t off = bdev_io->u.bdev.offset_blocks * bdev_io->bdev->blocklen;
	int i;

	for (i = 0; i < bdev_io->u.bdev.iovcnt; i++) {
		struct iovec *v = &bdev_io->u.bdev.iovs[i];

		if (bdev_io->type == SPDK_BDEV_IO_TYPE_READ) {
			memcpy(v->iov_base, d->ram + off, v->iov_len);
		} else if (bdev_io->type == SPDK_BDEV_IO_TYPE_WRITE) {
			memcpy(d->ram + off, v->iov_base, v->iov_len);
		}
		off += v->iov_len;
	}
}

int
fcbdev_complete(uint64_t id)
{
	struct spdk_thread *saved = spdk_get_thread();
	struct fcbdev_io *io;

	TAILQ_FOREACH(io, &g_pending, link) {
		if (io->id == id) {
			break;
		}
	}
	if (io == NULL) {
		return -ENOENT;
	}
	TAILQ_REMOVE(&g_pending, io, link);
	spdk_set_thread(spdk_bdev_io_get_thread(io->bdev_io));
	fc_transfer(io->bdev_io);
	spdk_bdev_io_complete(io->bdev_io, SPDK_BDEV_IO_STATUS_SUCCESS);
	spdk_set_thread(saved);
	return 0;
}

/* The poll group index whose thread submitted I/O `id` (-1: no such I/O). */
int
fcbdev_io_pg(uint64_t id)
{
	struct fcbdev_io *io;

	TAILQ_FOREACH(io, &g_pending, link) {
		if (io->id == id) {
			return target_pg_of_thread(spdk_bdev_io_get_thread(io->bdev_io));
		}
	}
	return -1;
}

size_t
fcbdev_pending(void)
{
	struct fcbdev_io *io;
	size_t n = 0;

	TAILQ_FOREACH(io, &g_pending, link) {
		n++;
	}
	return n;
}

static void
bdev_init_done(void *arg, int rc)
{
	*(int *)arg = rc;
}

/* spdk_bdev_initialize, as the app framework's bdev subsystem does before nvmf starts; with a
 * small bdev_io pool and small per-thread iobuf caches (the test env allocates pools up front,
 * and stories have a handful of I/Os in flight). */
int
fcbdev_layer_init(void)
{
	struct spdk_bdev_opts o;
	int rc = 1;

	spdk_bdev_get_opts(&o, sizeof(o));
	o.bdev_io_pool_size = 512;
	o.bdev_io_cache_size = 16;
	o.iobuf_small_cache_size = 16;
	o.iobuf_large_cache_size = 4;
	if (spdk_bdev_set_opts(&o) != 0) {
		return -1;
	}
	spdk_bdev_initialize(bdev_init_done, &rc);
	target_settle();
	return rc;
}
