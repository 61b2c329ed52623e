/*
 * File name extension to media type: /etc/mime.types when present, a small
 * built-in table otherwise. The table is built once in the master before
 * the workers fork; each entry holds the finished Content-Type value, with
 * "; charset=utf-8" for text, so a lookup costs one hash probe.
 */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

#define MIME_TYPES_FILE "/etc/mime.types"
#define MIME_SLOTS	4096 /* power of two, well above mime.types' size */
#define MIME_EXT_MAX	16

#define MIME_DEFAULT "application/octet-stream"

struct mime_entry {
	char me_ext[MIME_EXT_MAX]; /* lower-case extension, "" when free */
	char *me_type;		   /* full Content-Type value */
};

static struct mime_entry mime_table[MIME_SLOTS];

static const char *const mime_builtin[][2] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"txt", "text/plain"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"avif", "image/avif"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
};

/* Hash a lower-case extension (FNV-1a). */
static uint32_t
mime_hash(const char *ext)
{
	uint32_t h = 2166136261u;

	for (; *ext != '\0'; ext++)
		h = (h ^ (unsigned char)*ext) * 16777619u;
	return h;
}

/* Tell whether a media type is text that should carry a charset. */
static int
mime_is_text(const char *type)
{
	size_t n = strlen(type);

	return strncmp(type, "text/", 5) == 0 ||
	    strcmp(type, "application/javascript") == 0 ||
	    strcmp(type, "application/json") == 0 ||
	    strcmp(type, "application/xml") == 0 ||
	    (n > 4 && strcmp(type + n - 4, "+xml") == 0) ||
	    (n > 5 && strcmp(type + n - 5, "+json") == 0);
}

/* Find the slot of an extension: its entry, or the free slot for it. */
static struct mime_entry *
mime_slot(const char *ext)
{
	uint32_t i;

	i = mime_hash(ext) & (MIME_SLOTS - 1);
	while (mime_table[i].me_ext[0] != '\0' &&
	    strcmp(mime_table[i].me_ext, ext) != 0)
		i = (i + 1) & (MIME_SLOTS - 1);
	return &mime_table[i];
}

/* Map an extension to a type, replacing an earlier mapping. */
static void
mime_add(const char *ext, const char *type)
{
	static size_t used;
	struct mime_entry *me;
	char lower[MIME_EXT_MAX];
	char *value;
	size_t i, n;

	n = strlen(ext);
	if (n == 0 || n >= sizeof(lower))
		return;
	for (i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)ext[i]);
	lower[n] = '\0';
	me = mime_slot(lower);
	if (me->me_ext[0] == '\0' && used >= MIME_SLOTS / 2)
		return; /* keep the table sparse */
	if (asprintf(&value, "%s%s", type,
		mime_is_text(type) ? "; charset=utf-8" : "") == -1)
		return;
	if (me->me_ext[0] == '\0')
		used++;
	free(me->me_type);
	memcpy(me->me_ext, lower, n + 1);
	me->me_type = value;
}

/* Load the built-in table, then /etc/mime.types over it. */
void
mime_init(void)
{
	char *line = NULL, *type, *ext, *save;
	size_t i, cap = 0;
	FILE *fp;

	for (i = 0; i < sizeof(mime_builtin) / sizeof(mime_builtin[0]); i++)
		mime_add(mime_builtin[i][0], mime_builtin[i][1]);

	if ((fp = fopen(MIME_TYPES_FILE, "re")) == NULL)
		return;
	while (getline(&line, &cap, fp) != -1) {
		if (line[0] == '#')
			continue;
		if ((type = strtok_r(line, " \t\r\n", &save)) == NULL)
			continue;
		while ((ext = strtok_r(NULL, " \t\r\n", &save)) != NULL)
			mime_add(ext, type);
	}
	free(line);
	fclose(fp);
}

/* Return the Content-Type for a path, by the extension of its last name. */
const char *
mime_type(const char *path)
{
	const char *slash, *dot;
	struct mime_entry *me;
	char lower[MIME_EXT_MAX];
	size_t i, n;

	slash = strrchr(path, '/');
	dot = strrchr(slash != NULL ? slash : path, '.');
	if (dot == NULL || (n = strlen(dot + 1)) == 0 || n >= sizeof(lower))
		return MIME_DEFAULT;
	for (i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)dot[1 + i]);
	lower[n] = '\0';
	me = mime_slot(lower);
	return me->me_ext[0] != '\0' ? me->me_type : MIME_DEFAULT;
}
