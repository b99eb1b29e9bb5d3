#!/usr/bin/env bash
# image -> s3 -> s3rver (a real S3 protocol server), read back with
# botocore: JPEG objects under the service's image path
# (hex/ImagePrefix_AccountID_StreamName_ImageTimecode_RandomID.jpg) with
# Content-Type and the service's metadata names plus the frame's custom
# tags, decoding at the requested size; PNG likewise under a custom
# template; one event object per picture carrying every notification
# field; Matroska clips of whole fragments that play.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/s3.sh"
export VPIPE_MODULE_PATH="$VPIPE_MODULE_PATH:$VPIPE_TOP/$BUILD/tests"
[ -f "$VPIPE_TOP/$BUILD/tests/tagger.so" ] || skip "needs $BUILD/tests/tagger.so"
start_s3rver s3 snaps

cat >"$T/g.ini" <<INI
[cam]
module = testsrc
width = 320
height = 240
framerate = 10
num-frames = 25
is-live = true

[app]
module = tagger
input = cam
every = 10
tags = site=lab,AWS_KINESISVIDEO_IMAGE_PREFIX=lobby

[jpeg]
module = image
input = app
interval = 1s
width = 160
stream-name = door

[png]
module = image
input = cam
format = png
interval = 1s
height = 60

[enc]
module = x264
input = cam
keyint = 10
preset = ultrafast
threads = 1

[mux]
module = mkv
input = enc

[pictures]
module = s3
input = jpeg
bucket = snaps
endpoint = $S3_URL
access-key = $S3_KEY
secret-key = $S3_SECRET
account-id = 111122223333
notify = true

[thumbs]
module = s3
input = png
bucket = snaps
endpoint = $S3_URL
access-key = $S3_KEY
secret-key = $S3_SECRET
stream-name = yard
key-template = png/{stream}/{seq}.{ext}

[clips]
module = s3
input = mux
bucket = snaps
endpoint = $S3_URL
access-key = $S3_KEY
secret-key = $S3_SECRET
stream-name = door
key-template = clips/{stream}_{timecode}.{ext}
INI
"$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 || { cat "$T/run.log"; fail "vpipe run"; }
s3_dump snaps "$T/dump"

/usr/bin/python3 - "$T/dump/index.json" >"$T/check.log" 2>&1 <<'PY' || { cat "$T/check.log"; fail "objects"; }
import json, re, subprocess, sys
objs = json.load(open(sys.argv[1]))
by = {o["key"]: o for o in objs}
def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                          "stream=codec_name,width,height,nb_read_frames",
                          "-of", "json", path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["streams"][0]
uuid = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
pic = re.compile(r"^([0-9a-f])/lobby_111122223333_door_(\d{13})_" + uuid + r"\.jpg$")
jpgs = [o for o in objs if pic.match(o["key"])]
assert len(jpgs) == 3, ("JPEG objects", [o["key"] for o in objs])
for o in jpgs:
    ts = pic.match(o["key"]).group(2)
    assert o["content_type"] == "image/jpeg", o
    md = o["metadata"]
    assert md.get("aws_kinesisvideo_producer_timestamp") == ts, md
    assert md.get("site") == "lab", md
    assert "aws_kinesisvideo_image_prefix" not in md, md
    s = probe(o["file"])
    assert (s["codec_name"], s["width"], s["height"]) == ("mjpeg", 160, 120), s
    ev = by.get("events/" + o["key"] + ".json")
    assert ev, "no event object for " + o["key"]
    assert ev["content_type"] == "application/json", ev
    e = json.load(open(ev["file"]))
    want = {"StreamArn": "arn:aws:kinesisvideo:us-west-2:111122223333:stream/door",
            "StreamName": "door", "FragmentNumber": None,
            "FragmentStartProducerTimestamp": int(ts),
            "NotificationType": "PERSISTED",
            "NotificationPayload": {"site": "lab"},
            "Bucket": "snaps", "Key": o["key"], "ContentType": "image/jpeg",
            "Size": o["size"]}
    for k, v in want.items():
        assert e.get(k, "missing") == v, (k, e.get(k, "missing"), v)
    assert e["FragmentStartServerTimestamp"] >= int(ts), e
    assert e["ETag"], e
    print("ok: %s (%d bytes) and its event" % (o["key"], o["size"]))
pngs = sorted(o["key"] for o in objs if o["key"].startswith("png/"))
assert pngs == ["png/yard/%d.png" % i for i in range(3)], pngs
for k in pngs:
    o = by[k]
    assert o["content_type"] == "image/png", o
    assert re.fullmatch(r"\d{13}", o["metadata"]["aws_kinesisvideo_producer_timestamp"]), o
    s = probe(o["file"])
    assert (s["codec_name"], s["width"], s["height"]) == ("png", 80, 60), s
    print("ok: %s 80x60" % k)
clips = sorted(o["key"] for o in objs if o["key"].startswith("clips/"))
assert len(clips) == 3, clips  # 25 frames, a key frame every 10
frames = 0
for k in clips:
    o = by[k]
    assert o["content_type"] == "video/x-matroska", o
    s = probe(o["file"])
    assert s["codec_name"] == "h264" and s["width"] == 320, s
    frames += int(s["nb_read_frames"])
    print("ok: %s plays (%s frames)" % (k, s["nb_read_frames"]))
assert frames == 25, frames
events = [o for o in objs if o["key"].startswith("events/")]
assert len(events) == 3, [o["key"] for o in events]
print("ok: %d objects" % len(objs))
PY
cat "$T/check.log"
expect_grep "pictures: .*uploaded_objects_total=3" "$T/run.log"
expect_grep "pictures: .*events_total=3" "$T/run.log"
