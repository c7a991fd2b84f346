/* ISC license. */
/* JSON log lines: see logline.h. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <kakehi/logline.h>

size_t
kk_log_stamp(char buf[KK_LOG_STAMPLEN])
{
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, 0);
	if (!gmtime_r(&tv.tv_sec, &tm))
		memset(&tm, 0, sizeof tm);
	n = snprintf(buf, KK_LOG_STAMPLEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(tv.tv_usec / 1000));
	return n < 0 ? 0 : (size_t)n;
}

int
kk_log_json(kk_str *out, const char *prog, const char *level, const char *const *fields)
{
	char t[KK_LOG_STAMPLEN];

	kk_log_stamp(t);
	kk_str_reset(out);
	if (!kk_str_cats(out, "{\"time\":") || !kk_str_catjson(out, t)
	    || !kk_str_cats(out, ",\"program\":") || !kk_str_catjson(out, prog)
	    || !kk_str_cats(out, ",\"level\":") || !kk_str_catjson(out, level))
		return 0;
	for (; fields && fields[0]; fields += 2)
		if (!kk_str_cats(out, ",") || !kk_str_catjson(out, fields[0])
		    || !kk_str_cats(out, ":") || !kk_str_catjson(out, fields[1] ? fields[1] : ""))
			return 0;
	return kk_str_cats(out, "}\n");
}
