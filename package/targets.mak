# Programs installed in $(bindir). Each has src/*/deps-exe/<name>
# listing its objects and libraries, and a page doc/<name>.html.
BIN_TARGETS := \
kakehi-listen \
kakehi-supervisor \
kakehi-worker \
kakehi-ctl \
kakehi-upgrade \
kakehi-check

LIBEXEC_TARGETS :=

# Test programs, built by `make tests`, never installed.
TEST_TOOL_TARGETS := \
kk-testbackend \
kk-load
