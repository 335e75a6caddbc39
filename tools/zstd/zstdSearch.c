/*
 * zstd's decoder (https://github.com/facebook/zstd, lib/, BSD licence: see
 * LICENSE beside this file) as one WebAssembly module for the search's
 * Parquet reader. tools/buildZstd.ts compiles it; its includes are those of
 * zstd's build/single_file_libs/zstddeclib-in.c.
 *
 * Exports, besides the memory: allocate and release (malloc and free);
 * decompress, which decodes one frame with a decoding context kept from call
 * to call (ZSTD_decompress makes a fresh one each time); and begin_partial
 * with continue_partial, which decode a frame block by block only as far as
 * asked (a search wants a few rows of a text page, often near its start).
 */
#define DEBUGLEVEL 0
#define MEM_MODULE
#undef XXH_NAMESPACE
#define XXH_NAMESPACE ZSTD_
#undef XXH_PRIVATE_API
#define XXH_PRIVATE_API
#undef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#define ZSTD_LEGACY_SUPPORT 0
#define ZSTD_STRIP_ERROR_STRINGS
#define ZSTD_TRACE 0
#define ZSTD_DISABLE_ASM 1

#define ZSTD_DEPS_NEED_MALLOC
#include "common/zstd_deps.h"

#include "common/debug.c"
#include "common/entropy_common.c"
#include "common/error_private.c"
#include "common/fse_decompress.c"
#include "common/zstd_common.c"

#include "decompress/huf_decompress.c"
#include "decompress/zstd_ddict.c"
#include "decompress/zstd_decompress.c"
#include "decompress/zstd_decompress_block.c"

#define EXPORT(name) __attribute__((export_name(#name)))

static ZSTD_DCtx* context;

/* Bytes written to dst (the frame's whole content), or an error code: a size_t above any real size. */
EXPORT(decompress)
size_t decompress(void* dst, size_t capacity, const void* src, size_t size) {
  if (context == NULL) context = ZSTD_createDCtx();
  if (context == NULL) return (size_t)-1;
  return ZSTD_decompressDCtx(context, dst, capacity, src, size);
}

EXPORT(allocate) void* allocate(size_t bytes) { return malloc(bytes); }
EXPORT(release) void release(void* pointer) { free(pointer); }

/* One frame decoded as far as asked: zstd's buffer-less streaming, its output in place in dst. */
static ZSTD_DCtx* partial;
static const unsigned char* partialSource;
static size_t partialLeft;
static unsigned char* partialDestination;
static size_t partialCapacity;
static size_t partialWritten;

/* Starts on a frame (nothing decoded yet): 0, or an error code. src and dst must stay until done. */
EXPORT(begin_partial)
size_t begin_partial(void* dst, size_t capacity, const void* src, size_t size) {
  if (partial == NULL) partial = ZSTD_createDCtx();
  if (partial == NULL) return (size_t)-1;
  size_t const begun = ZSTD_decompressBegin(partial);
  if (ZSTD_isError(begun)) return begun;
  partialSource = (const unsigned char*)src;
  partialLeft = size;
  partialDestination = (unsigned char*)dst;
  partialCapacity = capacity;
  partialWritten = 0;
  return 0;
}

/*
 * Decodes blocks until at least `wanted` bytes of the content are in dst, or
 * the frame ends: the bytes decoded so far, or an error code.
 */
EXPORT(continue_partial)
size_t continue_partial(size_t wanted) {
  while (partialWritten < wanted) {
    size_t const next = ZSTD_nextSrcSizeToDecompress(partial);
    if (next == 0) break; /* the frame is done */
    if (next > partialLeft) return ERROR(srcSize_wrong);
    size_t const written = ZSTD_decompressContinue(
        partial, partialDestination + partialWritten, partialCapacity - partialWritten, partialSource, next);
    if (ZSTD_isError(written)) return written;
    partialSource += next;
    partialLeft -= next;
    partialWritten += written;
  }
  return partialWritten;
}
