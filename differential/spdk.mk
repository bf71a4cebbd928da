# Builds the SPDK libraries the differential harness links (nvmf, bdev, thread, sock, util, log,
# json, trace, plus SPDK's unit-test env instead of DPDK), with AddressSanitizer and asserts on, from
# an extracted SPDK source tree. Only those files: no configure, no submodules, no DPDK.
#
#   make -f spdk.mk SPDK=<extracted tree> OUT=<build dir> -j2
#
# Files left out on purpose: nvmf_rpc.c, sock_rpc.c, trace_rpc.c, bdev_rpc.c (the JSON-RPC server is not
# linked: the harness makes the C calls an RPC handler makes), rdma/fc/vfio-user/auth/mdns
# transports and helpers, the ARM base64 variants.

SPDK ?= $(error SPDK= the extracted source tree)
OUT ?= $(error OUT= the build directory)
HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))

CC ?= gcc
SAN := -fsanitize=address -fno-omit-frame-pointer
CFLAGS := -g -O1 $(SAN) -DDEBUG -fno-pie -D_GNU_SOURCE -DPAGE_SIZE=4096 -std=gnu11 -pthread -fno-common \
	-msse4.2 -Wno-address-of-packed-member -Wno-deprecated-declarations \
	-I$(OUT)/include -I$(SPDK)/include -I$(SPDK)/lib -I$(SPDK)/test \
	-include $(OUT)/include/spdk/config.h

util_SRCS := $(filter-out %_neon.c %_sve.c,$(wildcard $(SPDK)/lib/util/*.c))
log_SRCS := $(wildcard $(SPDK)/lib/log/*.c)
json_SRCS := $(wildcard $(SPDK)/lib/json/*.c)
trace_SRCS := $(SPDK)/lib/trace/trace.c $(SPDK)/lib/trace/trace_flags.c
thread_SRCS := $(wildcard $(SPDK)/lib/thread/*.c)
sock_SRCS := $(SPDK)/lib/sock/sock.c
nvmf_SRCS := $(addprefix $(SPDK)/lib/nvmf/,ctrlr.c ctrlr_discovery.c ctrlr_bdev.c subsystem.c \
	nvmf.c transport.c tcp.c $(notdir $(wildcard $(SPDK)/lib/nvmf/stubs.c $(SPDK)/lib/nvmf/mdns_server.c)))
bdev_SRCS := $(addprefix $(SPDK)/lib/bdev/,bdev.c bdev_zone.c part.c scsi_nvme.c)
env_SRCS := $(SPDK)/test/common/lib/test_env.c

LIBS := util log json trace thread sock bdev nvmf env
obj = $(patsubst $(SPDK)/%.c,$(OUT)/obj/%.o,$(1))

all: $(foreach l,$(LIBS),$(OUT)/lib/libspdk_$(l).a)

$(OUT)/include/spdk/config.h: $(HERE)config.h
	@mkdir -p $(dir $@)
	cp $< $@

# Newer SPDK generates spdk/version.h from version.h.in and VERSION (as its Makefile does).
ifneq ($(wildcard $(SPDK)/include/spdk/version.h.in),)
VERSION_H := $(OUT)/include/spdk/version.h
v_major := $(shell IFS='-.' read -r v _ _ _ < $(SPDK)/VERSION; echo $$v)
v_minor := $(shell IFS='-.' read -r _ v _ _ < $(SPDK)/VERSION; echo $$v | sed -e 's/^0//g')
v_patch := $(shell IFS='-.' read -r _ _ v _ < $(SPDK)/VERSION; echo $$v)
v_suffix := $(shell IFS='-.' read -r _ _ _ v < $(SPDK)/VERSION; echo $${v:+-$$v})
$(VERSION_H): $(SPDK)/include/spdk/version.h.in $(SPDK)/VERSION
	@mkdir -p $(dir $@)
	sed "s/\$$SPDK_VERSION_MAJOR/$(v_major)/g; s/\$$SPDK_VERSION_MINOR/$(v_minor)/g; \
	     s/\$$SPDK_VERSION_PATCH/$(v_patch)/g; s/\$$SPDK_VERSION_SUFFIX/$(v_suffix)/g;" $< > $@
endif

$(OUT)/obj/%.o: $(SPDK)/%.c $(OUT)/include/spdk/config.h $(VERSION_H) $(HERE)spdk.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

define lib_rule
$(OUT)/lib/libspdk_$(1).a: $(call obj,$($(1)_SRCS))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(LIBS),$(eval $(call lib_rule,$(l))))

.PHONY: all
