# A thin wrapper over Meson. The two commands a new user needs:
#   make study   install missing packages, build, run the quick study, write the report
#   make test    install missing packages, build, run every test suite (also under ASan+UBSan)

BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
MESON_TEST ?= meson test --print-errorlogs

.PHONY: all deps study-deps build test test-plain test-asan study install clean

all: build

deps:
	scripts/deps test

study-deps:
	scripts/deps study

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dstatic_agent=false

test: deps
	$(MAKE) test-plain
	$(MAKE) test-asan

test-plain: build
	$(MESON_TEST) -C $(BUILD)

# Sanitizers: any report fails the test (halt_on_error, and UBSan aborts).
test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(MESON_TEST) -C $(ASAN_BUILD) --no-suite slow

# LABS=1 adds the lab hosts (xen@xenlab, qemu@kvmlab): minutes each, so opt-in.
study: study-deps build
	scripts/study-quick $(BUILD) $(if $(LABS),--with-labs)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
