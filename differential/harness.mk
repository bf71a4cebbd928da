# Builds the harness binary fabcheck-diff against the libraries spdk.mk built, and its symbol
# table (nm -n -l: address, name, source file; the binary is linked without PIE so message function pointers are the nm
# addresses).
#
#   make -f harness.mk SPDK=<extracted tree> OUT=<build dir> VERSION=<2401|2405|...>

SPDK ?= $(error SPDK= the extracted source tree)
OUT ?= $(error OUT= the build directory)
VERSION ?= $(error VERSION= e.g. 2401)
HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))

CC ?= gcc
SAN := -fsanitize=address -fno-omit-frame-pointer
CFLAGS := -g -O1 $(SAN) -DDEBUG -fno-pie -D_GNU_SOURCE -DPAGE_SIZE=4096 -std=gnu11 -pthread -fno-common \
	-msse4.2 -Wall -Wno-unused-parameter -Wno-address-of-packed-member \
	-Wno-deprecated-declarations -DDIFF_SPDK_VERSION=$(VERSION) \
	-I$(HERE)harness -I$(OUT)/include -I$(SPDK)/include -I$(SPDK)/lib -I$(SPDK)/test \
	-include $(OUT)/include/spdk/config.h

SRCS := main.c parse.c interp.c target.c rpc_delete.c rpc_hosts.c shutdown.c memsock.c thread_peek.c stubs.c nolibs.c fcbdev.c
OBJS := $(addprefix $(OUT)/harness/,$(SRCS:.c=.o))
LIBS := nvmf bdev sock thread json trace log util
LDLIBS := -Wl,--whole-archive $(OUT)/lib/libspdk_nvmf.a -Wl,--no-whole-archive -Wl,--start-group $(foreach l,$(LIBS),$(OUT)/lib/libspdk_$(l).a) -Wl,--end-group \
	-luuid -lssl -lcrypto -lpthread -ldl -lrt -lm

all: $(OUT)/fabcheck-diff.syms

$(OUT)/harness/%.o: $(HERE)harness/%.c $(wildcard $(HERE)harness/*.h) $(HERE)harness.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/fabcheck-diff: $(OBJS) $(foreach l,$(LIBS),$(OUT)/lib/libspdk_$(l).a)
	$(CC) $(SAN) -no-pie -o $@ $(OBJS) $(LDLIBS)

$(OUT)/fabcheck-diff.syms: $(OUT)/fabcheck-diff
	nm -n -l $< > $@

.PHONY: all
