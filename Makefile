# rlpipe build, test and run targets.
#
# OpenBLAS is used when libopenblas is installed (build tag `openblas`); the
# pure-Go build is always tested too.

GO        ?= go
BIN       ?= bin/rlpipe
HAVE_BLAS := $(shell (ldconfig -p 2>/dev/null | grep -q libopenblas) && echo yes)
ifeq ($(HAVE_BLAS),yes)
TAGS      := -tags openblas
export CGO_LDFLAGS := -lopenblas
endif
PKGS      := ./...

.PHONY: all build test test-quick fmt-check vet bench run clean

all: build

build:
	$(GO) build $(TAGS) -o $(BIN) ./cmd/rlpipe

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# test: formatting, vet, the race-checked pure-Go suite, then the OpenBLAS
# build of the numeric packages when the library is present.
test: fmt-check vet
	$(GO) test -race -timeout 20m $(PKGS)
ifeq ($(HAVE_BLAS),yes)
	$(GO) test $(TAGS) -timeout 20m ./policy/...
endif

test-quick:
	$(GO) test -timeout 20m $(PKGS)

bench:
	$(GO) test $(TAGS) -run '^$$' -bench . -benchmem $(PKGS)

run: build
	./$(BIN) run

clean:
	rm -rf bin
