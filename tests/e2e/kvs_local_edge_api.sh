#!/usr/bin/env bash
# kvs-local's edge configuration API through the real AWS CLI:
# start-edge-configuration-update, describe-edge-configuration,
# list-edge-agent-configurations (the agent's poll, with paging) and
# delete-edge-configuration, their SyncStatus moves (docs/kvs-local.md), the
# service's errors, and a restart of kvs-local that keeps every config.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/kvs_local_helpers.bash"
# Debian's aws (2.9) predates list-edge-agent-configurations and
# delete-edge-configuration: take the first CLI that has all four.
EDGE_AWS=
for cli in "$(command -v aws)" /root/.pyenv/versions/*/bin/aws /usr/bin/aws; do
	[ -x "$cli" ] || continue
	if "$cli" kinesisvideo list-edge-agent-configurations 2>&1 |
		grep -q 'required: --hub-device-arn'; then
		EDGE_AWS=$cli
		break
	fi
done
[ -n "$EDGE_AWS" ] || skip "no AWS CLI with list-edge-agent-configurations"
echo "AWS CLI: $EDGE_AWS ($("$EDGE_AWS" --version 2>&1))"
EAWS() { "$EDGE_AWS" --endpoint-url "$EP" --region us-west-2 "$@"; }
# field FILE EXPR: a Python expression over the JSON document j
field() { $PY -c "import json,sys;j=json.load(open(sys.argv[1]));print($2)" "$1"; }
# must_fail NAME ERROR CMD...: the call fails with that error type
must_fail() {
	local name=$1 want=$2
	shift 2
	if "$@" >"$T/$name.out" 2>"$T/$name.err"; then
		cat "$T/$name.out"
		fail "$name succeeded"
	fi
	expect_grep "$want" "$T/$name.err"
}

HUB=arn:aws:iot:us-west-2:123456789012:thing/site-gw
HUB2=arn:aws:iot:us-west-2:123456789012:thing/other-gw
SECRET=arn:aws:secretsmanager:us-west-2:123456789012:secret:cam-url-AbCdEf
# edge_config FILE HUB [SCHEDULE]: an EdgeConfig as the service documents it
edge_config() {
	cat >"$1" <<EOF
{"HubDeviceArn": "$2",
 "RecorderConfig": {
   "MediaSourceConfig": {"MediaUriSecretArn": "$SECRET",
                         "MediaUriType": "RTSP_URI"},
   "ScheduleConfig": {"ScheduleExpression": "${3:-0 0 9-16 ? * MON-FRI *}",
                      "DurationInSeconds": 3599}},
 "UploaderConfig": {"ScheduleConfig": {
   "ScheduleExpression": "0 0 19,20,21 ? * * *", "DurationInSeconds": 3599}},
 "DeletionConfig": {"EdgeRetentionInHours": 15,
   "LocalSizeConfig": {"MaxLocalMediaSizeInMB": 2800,
                       "StrategyOnFullSize": "DELETE_OLDEST_MEDIA"},
   "DeleteAfterUpload": true}}
EOF
}
status() {
	EAWS kinesisvideo describe-edge-configuration --stream-name "$1" \
		>"$T/st.json" || fail "describe-edge-configuration $1"
	field "$T/st.json" 'j["SyncStatus"]'
}
poll() {
	EAWS kinesisvideo list-edge-agent-configurations --hub-device-arn "$1" \
		>"$T/poll.json" || fail "list-edge-agent-configurations $1"
}

KVS_DATA="$T/data" start_kvs_local
for i in 1 2 3 4 5 6 7; do
	AWS kinesisvideo create-stream --stream-name "cam$i" \
		--data-retention-in-hours 24 >/dev/null
done
AWS kinesisvideo create-stream --stream-name live0 >/dev/null
edge_config "$T/cfg.json" "$HUB"

# --- a config, as the service answers it ----------------------------------
EAWS kinesisvideo start-edge-configuration-update --stream-name cam1 \
	--edge-config "file://$T/cfg.json" >"$T/start.json"
expect_eq "status after start" "$(field "$T/start.json" 'j["SyncStatus"]')" SYNCING
expect_eq "hub" "$(field "$T/start.json" 'j["EdgeConfig"]["HubDeviceArn"]')" "$HUB"
expect_grep 'stream/cam1/' "$T/start.json"
expect_eq "recorder schedule" \
	"$(field "$T/start.json" 'j["EdgeConfig"]["RecorderConfig"]["ScheduleConfig"]["ScheduleExpression"]')" \
	"0 0 9-16 ? * MON-FRI *"
expect_eq "size strategy" \
	"$(field "$T/start.json" 'j["EdgeConfig"]["DeletionConfig"]["LocalSizeConfig"]["StrategyOnFullSize"]')" \
	DELETE_OLDEST_MEDIA
ARN1=$(field "$T/start.json" 'j["StreamARN"]')
EAWS kinesisvideo describe-edge-configuration --stream-arn "$ARN1" >"$T/d1.json"
expect_eq "describe by ARN" "$(field "$T/d1.json" 'j["StreamName"]')" cam1
expect_eq "describe status" "$(field "$T/d1.json" 'j["SyncStatus"]')" SYNCING
expect_eq "secret ARN kept" \
	"$(field "$T/d1.json" 'j["EdgeConfig"]["RecorderConfig"]["MediaSourceConfig"]["MediaUriSecretArn"]')" \
	"$SECRET"

# --- the service's errors --------------------------------------------------
must_fail update-while-syncing ResourceInUseException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name cam1 \
	--edge-config "file://$T/cfg.json"
must_fail unknown-stream ResourceNotFoundException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name nope \
	--edge-config "file://$T/cfg.json"
must_fail no-retention NoDataRetentionException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name live0 \
	--edge-config "file://$T/cfg.json"
must_fail no-config StreamEdgeConfigurationNotFoundException \
	EAWS kinesisvideo describe-edge-configuration --stream-name cam7
must_fail describe-unknown ResourceNotFoundException \
	EAWS kinesisvideo describe-edge-configuration --stream-name nope
must_fail delete-no-config StreamEdgeConfigurationNotFoundException \
	EAWS kinesisvideo delete-edge-configuration --stream-name cam7
# the CLI checks DurationInSeconds' minimum itself: a bad cron expression
# and a too-long retention reach the server, which answers as the service
edge_config "$T/bad.json" "$HUB" "0 0 25 ? * * *"
must_fail bad-cron InvalidArgumentException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name cam2 \
	--edge-config "file://$T/bad.json"
expect_grep 'hour' "$T/bad-cron.err"
sed 's/"EdgeRetentionInHours": 15/"EdgeRetentionInHours": 721/' "$T/cfg.json" \
	>"$T/bad2.json"
must_fail bad-retention InvalidArgumentException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name cam2 \
	--edge-config "file://$T/bad2.json"
expect_grep "Value '721' at 'edgeConfig.deletionConfig.edgeRetentionInHours' failed to satisfy constraint" \
	"$T/bad-retention.err"
must_fail bad-hub InvalidArgumentException \
	EAWS kinesisvideo list-edge-agent-configurations \
	--hub-device-arn arn:aws:iot:us-west-2:123456789012:policy/x
expect_grep "at 'hubDeviceArn' failed to satisfy constraint" "$T/bad-hub.err"
# the secret's ARN never shows in an error
sed 's/"MediaUriType": "RTSP_URI"/"MediaUriType": "HTTP_URI"/' "$T/cfg.json" \
	>"$T/bad3.json"
must_fail bad-type InvalidArgumentException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name cam2 \
	--edge-config "file://$T/bad3.json"
grep -q cam-url-AbCdEf "$T/bad-type.err" "$KVS_LOG" &&
	fail "the secret ARN appears in an error or the log"
# the TPS limits: DescribeEdgeConfiguration 5 per stream (8 sent at once),
# StartEdgeConfigurationUpdate 10 per account (15 sent at once)
$PY "$CLIENT" burst "$EP" describeEdgeConfiguration '{"StreamName":"cam3"}' 8 \
	>"$T/burst1.out"
# (the buckets refill while the burst is served: at least one is refused)
grep -q '^400 ClientLimitExceededException' "$T/burst1.out" ||
	fail "8 describe calls at once all passed the limit of 5 per second"
expect_grep '^404 StreamEdgeConfigurationNotFoundException' "$T/burst1.out"
$PY "$CLIENT" burst "$EP" startEdgeConfigurationUpdate '{}' 15 >"$T/burst2.out"
grep -q '^400 ClientLimitExceededException' "$T/burst2.out" ||
	fail "15 start calls at once all passed the account limit of 10"
expect_grep '^400 InvalidArgumentException' "$T/burst2.out"
sleep 1.1 # let the buckets refill

# --- the agent polls: SYNCING -> ACKNOWLEDGED -> IN_SYNC --------------------
poll "$HUB"
expect_eq "first poll lists" "$(field "$T/poll.json" 'len(j["EdgeConfigs"])')" 1
expect_eq "acknowledged by the poll" "$(status cam1)" ACKNOWLEDGED
poll "$HUB2"
expect_eq "another hub's poll" "$(field "$T/poll.json" 'len(j["EdgeConfigs"])')" 0
poll "$HUB"
expect_eq "in sync after the next poll" "$(status cam1)" IN_SYNC
# an update once IN_SYNC is accepted; moving to another hub is not
edge_config "$T/cfg2.json" "$HUB" "0 0 22,23 ? * MON-FRI *"
EAWS kinesisvideo start-edge-configuration-update --stream-name cam1 \
	--edge-config "file://$T/cfg2.json" >"$T/upd.json"
expect_eq "update syncs again" "$(field "$T/upd.json" 'j["SyncStatus"]')" SYNCING
expect_eq "creation time kept" "$(field "$T/upd.json" 'j["CreationTime"]')" \
	"$(field "$T/d1.json" 'j["CreationTime"]')"
poll "$HUB"
poll "$HUB"
expect_eq "update in sync" "$(status cam1)" IN_SYNC
edge_config "$T/cfg3.json" "$HUB2"
must_fail move-hub InvalidArgumentException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name cam1 \
	--edge-config "file://$T/cfg3.json"

# cam7 goes to another hub, and is never polled
EAWS kinesisvideo start-edge-configuration-update --stream-name cam7 \
	--edge-config "file://$T/cfg3.json" >/dev/null

# --- paging: six configs on one hub, MaxResults 1-10 ------------------------
for i in 2 3 4 5 6; do
	EAWS kinesisvideo start-edge-configuration-update --stream-name "cam$i" \
		--edge-config "file://$T/cfg.json" >/dev/null
done
# --page-size: the CLI follows NextToken itself, MaxResults=2 per call
EAWS kinesisvideo list-edge-agent-configurations --hub-device-arn "$HUB" \
	--page-size 2 >"$T/all.json"
expect_eq "every config of the hub, in pages" \
	"$(field "$T/all.json" '" ".join(c["StreamName"] for c in j["EdgeConfigs"])')" \
	"cam1 cam2 cam3 cam4 cam5 cam6"
# --max-items: a page and a token to go on from
EAWS kinesisvideo list-edge-agent-configurations --hub-device-arn "$HUB" \
	--max-items 4 >"$T/p1.json"
expect_eq "first page" "$(field "$T/p1.json" 'len(j["EdgeConfigs"])')" 4
TOKEN=$(field "$T/p1.json" 'j["NextToken"]')
EAWS kinesisvideo list-edge-agent-configurations --hub-device-arn "$HUB" \
	--starting-token "$TOKEN" >"$T/p2.json"
expect_eq "second page" \
	"$(field "$T/p2.json" '" ".join(c["StreamName"] for c in j["EdgeConfigs"])')" \
	"cam5 cam6"
# the API itself: default MaxResults 5, NextToken, the limit of 10
$PY "$CLIENT" call "$EP" listEdgeAgentConfigurations "{\"HubDeviceArn\":\"$HUB\"}" \
	>"$T/raw-list.out"
expect_grep '^200 ' "$T/raw-list.out"
expect_eq "default page size" "$(grep -o '"StreamName"' "$T/raw-list.out" | wc -l)" 5
expect_grep '"NextToken"' "$T/raw-list.out"
$PY "$CLIENT" call "$EP" listEdgeAgentConfigurations \
	"{\"HubDeviceArn\":\"$HUB\",\"MaxResults\":11}" >"$T/raw-max.out"
expect_grep "^400 InvalidArgumentException" "$T/raw-max.out"
expect_grep "at 'maxResults'" "$T/raw-max.out"
# after those polls every config of the hub is IN_SYNC
for i in 2 3 4 5 6; do
	expect_eq "cam$i after the polls" "$(status "cam$i")" IN_SYNC
done

# --- deletion: DELETING -> DELETING_ACKNOWLEDGED -> gone --------------------
EAWS kinesisvideo delete-edge-configuration --stream-name cam6 >/dev/null
expect_eq "deleting" "$(status cam6)" DELETING
poll "$HUB"
expect_eq "agent saw the deletion" "$(status cam6)" DELETING_ACKNOWLEDGED
must_fail update-while-deleting ResourceInUseException \
	EAWS kinesisvideo start-edge-configuration-update --stream-name cam6 \
	--edge-config "file://$T/cfg.json"
EAWS kinesisvideo delete-edge-configuration --stream-name cam5 >/dev/null
expect_eq "cam5 deleting" "$(status cam5)" DELETING

# --- a restart keeps every config and its status ---------------------------
for i in 1 2 3 4 5 6 7; do echo "cam$i $(status cam$i)"; done >"$T/before.txt"
stop_kvs_local
KVS_DATA="$T/data" start_kvs_local
for i in 1 2 3 4 5 6 7; do echo "cam$i $(status cam$i)"; done >"$T/after.txt"
cmp "$T/before.txt" "$T/after.txt" || {
	diff "$T/before.txt" "$T/after.txt"
	fail "statuses changed across the restart"
}
echo "ok: statuses kept across the restart: $(tr '\n' ' ' <"$T/after.txt")"
expect_grep '7 edge configurations' "$KVS_LOG"
EAWS kinesisvideo describe-edge-configuration --stream-name cam1 >"$T/d1b.json"
expect_eq "schedule kept" \
	"$(field "$T/d1b.json" 'j["EdgeConfig"]["RecorderConfig"]["ScheduleConfig"]["ScheduleExpression"]')" \
	"0 0 22,23 ? * MON-FRI *"
poll "$HUB"
must_fail deleted-after-poll StreamEdgeConfigurationNotFoundException \
	EAWS kinesisvideo describe-edge-configuration --stream-name cam6
expect_eq "cam5 acknowledged" "$(status cam5)" DELETING_ACKNOWLEDGED
poll "$HUB"
must_fail cam5-deleted StreamEdgeConfigurationNotFoundException \
	EAWS kinesisvideo describe-edge-configuration --stream-name cam5
# a config no agent received is deleted at once
EAWS kinesisvideo delete-edge-configuration --stream-name cam7 >/dev/null
must_fail cam7-deleted StreamEdgeConfigurationNotFoundException \
	EAWS kinesisvideo describe-edge-configuration --stream-name cam7
# deleting the stream drops its config from the hub's list
AWS kinesisvideo delete-stream --stream-arn "$ARN1"
poll "$HUB"
expect_eq "listed after delete-stream" \
	"$(field "$T/poll.json" '" ".join(c["StreamName"] for c in j["EdgeConfigs"])')" \
	"cam2 cam3 cam4"
stop_kvs_local

# --- no poll within the sync timeout (2 s here, 15 min by default) ---------
KVS_DATA="$T/data2" start_kvs_local --edge-sync-timeout 2
AWS kinesisvideo create-stream --stream-name cam8 --data-retention-in-hours 1 \
	>/dev/null
EAWS kinesisvideo start-edge-configuration-update --stream-name cam8 \
	--edge-config "file://$T/cfg.json" >/dev/null
poll "$HUB"
expect_eq "cam8 acknowledged" "$(status cam8)" ACKNOWLEDGED
sleep 2.5
expect_eq "no poll for the sync timeout" "$(status cam8)" SYNC_FAILED
expect_grep '"FailedStatusDetails"' "$T/st.json"
EAWS kinesisvideo delete-edge-configuration --stream-name cam8 >/dev/null
expect_eq "deleting a delivered config" "$(status cam8)" DELETING
sleep 2.5
expect_eq "no poll to confirm the deletion" "$(status cam8)" DELETE_FAILED
sleep 1.1 # DeleteEdgeConfiguration: 1 call per second and stream
EAWS kinesisvideo delete-edge-configuration --stream-name cam8 >/dev/null
expect_eq "deletion retried" "$(status cam8)" DELETING
stop_kvs_local
echo PASS
