/* ISC license. */
/* Private to libkakehi: the global settings (`set KEY VALUE`) as one
 * table, shared by the parser (syntax), the state (apply) and the printer
 * (canonical lines, JSON, help). Not installed. */
#ifndef KAKEHI_SETTING_H
#define KAKEHI_SETTING_H

#include <stddef.h>
#include <kakehi/state.h>
#include <kakehi/str.h>

/* Checks KEY and VALUE without a state: 1 ok, 0 with a message in err
 * (no verb prefix). */
int kk_setting_check(const char *key, const char *value, char *err, size_t errlen);
/* Applies `set KEY VALUE` to settings; all or nothing. 1 ok, 0 with err. */
int kk_setting_apply(kk_settings *, const char *key, const char *value, char *err, size_t errlen);
void kk_setting_defaults(kk_settings *);
/* 1 ok, 0 ENOMEM. dst receives its own copy of every string. */
int kk_setting_copy(kk_settings *dst, const kk_settings *src);
void kk_setting_free(kk_settings *);
/* Appends a `set` line, in table order, for every key whose value in s
 * differs from base; a key back at its unset value prints as
 * `set KEY default`. 1 ok, 0 ENOMEM. */
int kk_setting_print(const kk_settings *s, const kk_settings *base, kk_str *out);
/* Appends the settings as one JSON object. */
int kk_setting_print_json(const kk_settings *, kk_str *out);
/* Appends one help line per key. */
int kk_setting_help(kk_str *out);

#endif
