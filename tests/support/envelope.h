/* SPDX-License-Identifier: MIT */
/* envelope.h -- little-endian field access and CRC re-sealing for tests that
 * patch saved liblelp buffers (docs/format.md: the last 4 bytes are the
 * CRC-32 of everything before them). */
#ifndef LELP_TEST_ENVELOPE_H
#define LELP_TEST_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE, reflected, zlib's crc32). */
uint32_t crc32_ieee(const unsigned char* p, size_t n);
uint32_t rd32(const unsigned char* p);
uint64_t rd64(const unsigned char* p);
void wr32(unsigned char* p, uint32_t v);
void wr64(unsigned char* p, uint64_t v);
/* Recomputes the trailing CRC of a whole buffer of `size` bytes. */
void reseal(unsigned char* buf, size_t size);

#endif
