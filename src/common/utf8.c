#include "common/utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t utf8_printable_len(const unsigned char *s, size_t len)
{
	size_t n = utf8_seq_len(s, len);

	if (n == 1 && (s[0] < 0x20 || s[0] == 0x7f))
		return 0;
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

size_t utf8_sanitize_n(char *dst, size_t cap, const char *src, size_t len)
{
	const unsigned char *u = (const unsigned char *)src;
	size_t i = 0, o = 0;

	if (!cap)
		return 0;
	while (i < len && o + 1 < cap) {
		size_t n = utf8_printable_len(u + i, len - i);

		if (n == 0) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(dst + o, src + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return i;
}
