#!/usr/bin/env bash
# Browser tests use Debian's Chromium, never a browser downloaded by a test tool.
set -u
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
      || echo "setup_browser: could not install chromium; browser tests will be skipped" >&2
  else
    echo "setup_browser: /usr/bin/chromium missing and not root; browser tests will be skipped" >&2
  fi
fi
exit 0
