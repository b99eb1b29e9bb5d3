/* Reading INI graph files with inih, keeping line numbers.
 *
 * Debian's libinih is built without INI_HANDLER_LINENO, so the line number
 * comes from our own reader callback: inih asks for one line at a time and
 * calls the handler for it before asking for the next. Section headers are
 * noticed in the reader too, so empty and duplicate sections get a line. */
#include "config.h"
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A graph file is a few KB; anything this large is not one (/dev/zero, a
 * video file given by mistake), and is not read further. */
#define MAX_GRAPH_BYTES (1024 * 1024)

struct reader {
	FILE *fp;	  /* file input */
	const char *text; /* or string input */
	int line;
	struct vp_config *cfg;
	char *raw; /* the current line, whole */
	size_t raw_len, raw_cap;
	size_t total;	   /* bytes read so far */
	bool too_big;	   /* stopped at MAX_GRAPH_BYTES */
	bool continuation; /* it is indented: inih appends it to the key */
	long last_section, last_key; /* indices the previous key line set */
	char **long_values; /* values of lines longer than inih's buffer */
	unsigned n_long;
};

static void cfg_error(struct vp_config *cfg, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfg_error(struct vp_config *cfg, int line, const char *fmt, ...)
{
	char where[512], raw[1024], msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	vp_escape_controls(raw, msg, sizeof(msg));
	vp_config_where(cfg, line, where, sizeof(where));
	fprintf(stderr, "%s: error: %s\n", where, msg);
	cfg->n_errors++;
}

void vp_config_where(const struct vp_config *cfg, int line, char *buf,
		     size_t len)
{
	char file[256];
	vp_escape_controls(cfg->file, file, sizeof(file));
	if (line > 0)
		snprintf(buf, len, "%s:%d", file, line);
	else
		snprintf(buf, len, "%s (--set)", file);
}

struct vp_section *vp_config_section(struct vp_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (!strcmp(cfg->sections[i].name, name))
			return &cfg->sections[i];
	return NULL;
}

struct vp_kv *vp_section_get(struct vp_section *s, const char *key)
{
	for (size_t i = 0; i < s->n_kv; i++)
		if (!strcmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}

static struct vp_section *add_section(struct vp_config *cfg, const char *name,
				      int line)
{
	struct vp_section *s =
	    realloc(cfg->sections, (cfg->n_sections + 1) * sizeof(*s));
	if (!s)
		abort();
	cfg->sections = s;
	s = &cfg->sections[cfg->n_sections++];
	memset(s, 0, sizeof(*s));
	s->name = vp_strdup(name);
	s->line = line;
	return s;
}

static void add_kv(struct vp_section *s, const char *key, const char *value,
		   int line)
{
	struct vp_kv *kv = realloc(s->kv, (s->n_kv + 1) * sizeof(*kv));
	if (!kv)
		abort();
	s->kv = kv;
	kv = &s->kv[s->n_kv++];
	kv->key = vp_strdup(key);
	kv->value = vp_strdup(value);
	kv->line = line;
	kv->used = false;
}

/* Notice "[name]" lines as inih will see them (after leading space). */
static void note_section_line(struct reader *r, const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	if (*line != '[')
		return;
	const char *end = strchr(line, ']');
	if (!end)
		return; /* inih reports the syntax error */
	char name[256];
	size_t n = (size_t)(end - line - 1);
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, line + 1, n);
	name[n] = 0;
	/* inih strips the name like this too */
	char *p = name;
	while (isspace((unsigned char)*p))
		p++;
	char *q = p + strlen(p);
	while (q > p && isspace((unsigned char)q[-1]))
		*--q = 0;
	struct vp_section *prev = vp_config_section(r->cfg, p);
	if (prev) {
		cfg_error(r->cfg, r->line,
			  "duplicate node [%s] (first defined at line %d)", p,
			  prev->line);
		return;
	}
	add_section(r->cfg, p, r->line);
}

static void raw_add(struct reader *r, const char *p, size_t n)
{
	if (r->raw_len + n + 1 > r->raw_cap) {
		r->raw_cap = (r->raw_len + n + 1) * 2;
		r->raw = realloc(r->raw, r->raw_cap);
		if (!r->raw)
			abort();
	}
	memcpy(r->raw + r->raw_len, p, n);
	r->raw_len += n;
	r->raw[r->raw_len] = 0;
}

/* The next whole line into r->raw (r->raw_len bytes: it may hold NULs);
 * false at the end, or past MAX_GRAPH_BYTES. */
static bool next_raw_line(struct reader *r)
{
	r->raw_len = 0;
	raw_add(r, "", 0);
	if (r->fp) {
		int c = 0;
		while (r->total < MAX_GRAPH_BYTES && (c = getc(r->fp)) != EOF) {
			char ch = (char)c;
			r->total++;
			raw_add(r, &ch, 1);
			if (c == '\n')
				break;
		}
		if (r->total >= MAX_GRAPH_BYTES && c != '\n' &&
		    getc(r->fp) != EOF)
			r->too_big = true;
		return r->raw_len > 0 && !r->too_big;
	}
	if (!*r->text)
		return false;
	const char *nl = strchr(r->text, '\n');
	size_t n = nl ? (size_t)(nl - r->text + 1) : strlen(r->text);
	raw_add(r, r->text, n);
	r->text += n;
	return true;
}

/* A control byte in a line (NUL, escape sequences, ...) is an error at
 * file:line, and the line is dropped: inih would cut the value at a NUL
 * ("width = 32\0 0" read as 32) and a terminal would act on the rest. A
 * CR is allowed right before the line break (CRLF files). */
static bool refuse_controls(struct reader *r)
{
	for (size_t i = 0; i < r->raw_len; i++) {
		unsigned char c = (unsigned char)r->raw[i];
		if (!vp_is_control(c) || c == '\n' ||
		    (c == '\r' &&
		     (i + 1 == r->raw_len || r->raw[i + 1] == '\n')))
			continue;
		cfg_error(
		    r->cfg, r->line,
		    "control character \\x%02x at column %zu: not allowed "
		    "in a graph file (only tab is)",
		    c, i + 1);
		r->raw_len = 0;
		raw_add(r, "\n", 1);
		return true;
	}
	return false;
}

/* Debian's libinih reads at most INI_MAX_LINE (200) bytes of a line. A
 * longer "key = value" line (an IoT certificate spec, a URL) is handed to
 * inih with its value replaced by "\x01N", and the handler puts value N
 * back. The value is trimmed and loses an inline "; comment" as inih
 * would do. */
static void shorten_long_line(struct reader *r, char *str, int num)
{
	char *eq = strpbrk(r->raw, "=:");
	size_t keylen = eq ? (size_t)(eq - r->raw) : 0;
	if (!eq || keylen + 16 > (size_t)num) {
		snprintf(str, (size_t)num, "%.*s", num - 1, r->raw);
		return; /* inih reports what it makes of it */
	}
	char *v = eq + 1;
	/* A continuation line reaches the handler whole ("key=\x01N"), and
	 * keeps the blanks after its '='. */
	while (!r->continuation && (*v == ' ' || *v == '\t'))
		v++;
	char *end = v + strlen(v);
	for (char *c = v + 1; *c; c++)
		if ((*c == ';') && (c[-1] == ' ' || c[-1] == '\t')) {
			end = c;
			break;
		}
	while (end > v && strchr(" \t\r\n", end[-1]))
		end--;
	r->long_values =
	    realloc(r->long_values, (r->n_long + 1) * sizeof(char *));
	if (!r->long_values)
		abort();
	r->long_values[r->n_long] = strndup(v, (size_t)(end - v));
	snprintf(str, (size_t)num, "%.*s=\x01%u\n", (int)keylen, r->raw,
		 r->n_long);
	r->n_long++;
}

static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	if (!next_raw_line(r))
		return NULL;
	r->line++;
	refuse_controls(r);
	note_section_line(r, r->raw);
	const char *p = r->raw;
	r->continuation =
	    (*p == ' ' || *p == '\t') && strspn(p, " \t\r\n") != strlen(p) &&
	    p[strspn(p, " \t")] != ';' && p[strspn(p, " \t")] != '#';
	if (strlen(r->raw) < (size_t)num - 1)
		memcpy(str, r->raw, strlen(r->raw) + 1);
	else
		shorten_long_line(r, str, num);
	return str;
}

/* Appends n bytes of add to the growing string out (len used, cap held),
 * keeping room for its terminating NUL. */
static void append_bytes(char **out, size_t *len, size_t *cap, const char *add,
			 size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*out = realloc(*out, *cap);
		if (!*out)
			abort();
	}
	memcpy(*out + *len, add, n);
	*len += n;
}

/* The value with each "\x01N" of shorten_long_line replaced by long value
 * N. Usually the whole value is one marker; an indented (continuation)
 * line that was long reaches the handler whole, its marker after the text
 * before its '='. Control bytes were refused on reading, so a \x01 here
 * is always a marker. A new string. */
static char *expand_long_values(struct reader *r, const char *value)
{
	size_t cap = strlen(value) + 1, len = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	for (const char *p = value; *p;) {
		const char *add = p;
		size_t n = 1;
		if (*p == '\x01') {
			char *end;
			unsigned long idx = strtoul(p + 1, &end, 10);
			add = "";
			n = 0;
			if (end > p + 1 && idx < r->n_long) {
				add = r->long_values[idx];
				n = strlen(add);
			}
			p = end > p + 1 ? end : p + 1;
		} else {
			p++;
		}
		append_bytes(&out, &len, &cap, add, n);
	}
	out[len] = 0;
	return out;
}

static int on_value(void *user, const char *section, const char *name,
		    const char *raw_value)
{
	struct reader *r = user;
	struct vp_config *cfg = r->cfg;
	if (!*section) {
		cfg_error(cfg, r->line,
			  "'%s' is outside any section: start with [pipeline] "
			  "or a [node] header",
			  name);
		return 1;
	}
	/* Keys of a duplicate section were reported with it; the last
	 * section of that name is the first one, so look it up. */
	struct vp_section *s = vp_config_section(cfg, section);
	if (!s)
		s = add_section(cfg, section, r->line);
	char *value = expand_long_values(r, raw_value);
	struct vp_kv *prev = vp_section_get(s, name);
	if (prev) {
		if (r->continuation && s - cfg->sections == r->last_section &&
		    prev - s->kv == r->last_key) {
			/* an indented line continues the value: appended as
			 * it is, so a long value can be split anywhere */
			size_t a = strlen(prev->value), b = strlen(value);
			char *v = realloc(prev->value, a + b + 1);
			if (!v)
				abort();
			memcpy(v + a, value, b + 1);
			prev->value = v;
		} else {
			cfg_error(cfg, r->line,
				  "duplicate key '%s' in [%s] (first set at "
				  "line %d)",
				  name, section, prev->line);
		}
		free(value);
		return 1;
	}
	add_kv(s, name, value, r->line);
	free(value);
	r->last_section = s - cfg->sections;
	r->last_key = (long)s->n_kv - 1;
	return 1;
}

static struct vp_config *load(const char *name, FILE *fp, const char *text)
{
	struct vp_config *cfg = vp_xcalloc(1, sizeof(*cfg));
	cfg->file = vp_strdup(name);
	struct reader r = {
	    .fp = fp, .text = text, .cfg = cfg, .last_section = -1};
	int rc = ini_parse_stream(read_line, &r, on_value, &r);
	for (unsigned i = 0; i < r.n_long; i++)
		free(r.long_values[i]);
	free(r.long_values);
	free(r.raw);
	if (r.too_big)
		cfg_error(cfg, r.line + 1,
			  "the file goes on past %d MiB: not a graph file "
			  "(not read further)",
			  MAX_GRAPH_BYTES >> 20);
	else if (rc > 0)
		cfg_error(cfg, rc,
			  "syntax error: expected '[node]', 'key = value' or a "
			  "comment starting with ';' or '#'");
	else if (rc < 0)
		cfg_error(cfg, 0, "cannot read (%s)", strerror(errno));
	return cfg;
}

struct vp_config *vp_config_load(const char *path)
{
	char shown[256];
	vp_escape_controls(path, shown, sizeof(shown));
	FILE *fp = fopen(path, "r");
	struct stat st;
	if (!fp || fstat(fileno(fp), &st)) {
		fprintf(stderr, "%s: error: cannot open: %s\n", shown,
			strerror(errno));
		if (fp)
			fclose(fp);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: error: is a directory, not a graph file\n",
			shown);
		fclose(fp);
		return NULL;
	}
	struct vp_config *cfg = load(path, fp, NULL);
	fclose(fp);
	return cfg;
}

struct vp_config *vp_config_load_stream(const char *name, FILE *fp)
{
	return load(name, fp, NULL);
}

struct vp_config *vp_config_load_string(const char *name, const char *text)
{
	return load(name, NULL, text);
}

void vp_config_free(struct vp_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_sections; i++) {
		struct vp_section *s = &cfg->sections[i];
		for (size_t k = 0; k < s->n_kv; k++) {
			free(s->kv[k].key);
			free(s->kv[k].value);
		}
		free(s->kv);
		free(s->name);
	}
	free(cfg->sections);
	free(cfg->file);
	free(cfg);
}

int vp_config_set(struct vp_config *cfg, const char *assignment)
{
	const char *dot = strchr(assignment, '.');
	const char *eq = strchr(assignment, '=');
	char shown[512];
	vp_escape_controls(assignment, shown, sizeof(shown));
	if (!dot || !eq || dot > eq || dot == assignment || eq == dot + 1) {
		fprintf(stderr, "error: --set '%s': expected node.key=value\n",
			shown);
		return -1;
	}
	for (const char *p = assignment; *p; p++)
		if (vp_is_control((unsigned char)*p)) {
			fprintf(stderr,
				"error: --set '%s': control character \\x%02x: "
				"not allowed in a value (only tab is)\n",
				shown, (unsigned char)*p);
			return -1;
		}
	char node[256], key[256];
	snprintf(node, sizeof(node), "%.*s", (int)(dot - assignment),
		 assignment);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
	struct vp_section *s = vp_config_section(cfg, node);
	if (!s)
		s = add_section(cfg, node, 0);
	struct vp_kv *kv = vp_section_get(s, key);
	if (kv) {
		free(kv->value);
		kv->value = vp_strdup(eq + 1);
		kv->line = 0;
	} else {
		add_kv(s, key, eq + 1, 0);
	}
	return 0;
}

char *vp_expand_env(const char *value, char *err, size_t errlen)
{
	size_t cap = strlen(value) + 64, len = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	for (const char *p = value; *p;) {
		const char *add = p;
		size_t n = 1;
		char name[256];
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			if (!end) {
				snprintf(err, errlen,
					 "unterminated '${' in '%s'", value);
				free(out);
				return NULL;
			}
			snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2),
				 p + 2);
			char *def = strstr(name, ":-");
			if (def) {
				*def = 0;
				def += 2;
			}
			add = getenv(name);
			if (!add || (!*add && def))
				add = def;
			if (!add) {
				snprintf(err, errlen,
					 "environment variable %s is not set",
					 name);
				free(out);
				return NULL;
			}
			n = strlen(add);
			p = end + 1;
		} else {
			p++;
		}
		append_bytes(&out, &len, &cap, add, n);
	}
	out[len] = 0;
	return out;
}
