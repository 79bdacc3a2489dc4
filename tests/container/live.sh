#!/bin/sh
# Inside the image: `afterglow run` against the project's fake Bot API server. The live
# health check passes while the dispatcher runs; the daily backup lands in /data/backups;
# frozen (SIGSTOP, a hung process), the health check fails once the last pass is over 90 s
# old; SIGTERM then stops it cleanly.
set -u
python /check/fake_server.py /tmp/fake-telegram "$TELEGRAM_BOT_TOKEN" &
fake=$!
for _ in $(seq 100); do [ -s /tmp/fake-telegram ] && break; sleep 0.1; done
read -r url group </tmp/fake-telegram
export TELEGRAM_API_BASE_URL="$url" AFTERGLOW_STAFF_CHAT_ID="$group"

afterglow run 2>/tmp/bot.log &
bot=$!
for _ in $(seq 60); do afterglow check --live >/dev/null 2>&1 && break; sleep 1; done
afterglow check --live >/tmp/live.txt
echo "running:  check --live exit $? ($(tail -1 /tmp/live.txt))"

for _ in $(seq 120); do ls /data/backups/afterglow-*.db >/dev/null 2>&1 && break; sleep 1; done
echo "backups:  $(ls /data/backups)"

kill -STOP "$bot"
started=$(date +%s)
until ! afterglow check --live >/tmp/live.txt 2>&1; do sleep 5; done
echo "frozen:   check --live exit 1 after $(($(date +%s) - started)) s ($(tail -1 /tmp/live.txt))"

kill -CONT "$bot"
kill -TERM "$bot"
wait "$bot"
echo "SIGTERM:  afterglow run exit $?"
kill -TERM "$fake"
wait "$fake"
echo "bot log, Afterglow's own lines:"
grep -E ' (INFO|WARNING|ERROR) bot\.' /tmp/bot.log | sed 's/^/  /'
echo "other log lines: $(grep -c -v -E ' (INFO|WARNING|ERROR) bot\.' /tmp/bot.log)"
