#!/bin/sh
# Rebuild the ELF reader's test objects and their readelf golden files:
# small.bpfel.o and small.bpfeb.o, small.c in both byte orders (golden: *.readelf.txt).
# (benchmarks/elf.py uses the project's large fixture, tests/testdata/obj/large.*.o.)
#
# Needs clang-19 and GNU readelf (binutils); run from anywhere.
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
CFLAGS="-O2 -g -fdebug-compilation-dir=. -I/usr/include/$(uname -m)-linux-gnu"
for order in bpfel bpfeb; do
	$CLANG $CFLAGS -target $order -c small.c -o small.$order.o
	readelf -S -s -r --wide small.$order.o > small.$order.readelf.txt
done
