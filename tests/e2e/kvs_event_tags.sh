#!/usr/bin/env bash
# KVS service-side images and notifications: mkv tags fragments with
# AWS_KINESISVIDEO_IMAGE_GENERATION (+ AWS_KINESISVIDEO_IMAGE_PREFIX) every
# N fragments and with AWS_KINESISVIDEO_NOTIFICATION (+ the payload pairs)
# when a frame carries that tag; each fragment's Tags follow its blocks
# ("a tag belongs to the cluster before it"), as mkvinfo shows; kvs-local
# records the tags on the fragments it stores and returns them in GetMedia.
source "$VPIPE_TOP/tests/lib.sh"
source "$VPIPE_TOP/tests/e2e/lib/kvs.sh"
need mkvinfo
export VPIPE_MODULE_PATH="$VPIPE_MODULE_PATH:$VPIPE_TOP/$BUILD/tests"
[ -f "$VPIPE_TOP/$BUILD/tests/tagger.so" ] || skip "needs $BUILD/tests/tagger.so"

# 6 s at 10 fps, a key frame a second: 6 fragments.
ffmpeg -v error -f lavfi -i testsrc2=size=160x120:rate=10 -frames:v 60 \
	-c:v libx264 -preset ultrafast -g 10 -keyint_min 10 -sc_threshold 0 -bf 0 \
	-pix_fmt yuv420p -f h264 "$T/in.h264"
start_kvs_local kl
cat >"$T/g.ini" <<INI
[cam]
module = filesrc
location = $T/in.h264
framerate = 10

[app]
; frame 25 is in fragment 2: a motion detector asks for a notification
module = tagger
input = cam
at = 25
tags = AWS_KINESISVIDEO_NOTIFICATION,motion=door

[mux]
module = mkv
input = app
image-every = 2
image-prefix = lobby

[disk]
module = filesink
input = mux
location = $T/out.mkv

[cloud]
module = kvs
input = mux
stream-name = tags
endpoint = $KL_URL
stop-stream-timeout = 20s
INI
"$VPIPE" run "$T/g.ini" >"$T/run.log" 2>&1 || { cat "$T/run.log"; fail "vpipe run"; }
mkvinfo -v "$T/out.mkv" >"$T/file.info" || fail "mkvinfo rejects the file"
get_media "$KL_URL" tags "$T/got.mkv"
mkvinfo -v "$T/got.mkv" >"$T/got.info" || fail "mkvinfo rejects GetMedia's output"

# Per fragment, the tag names (and prefix / payload values) it carries:
#   file:     the Tags after each Cluster belong to that cluster;
#   GetMedia: the Tags holding AWS_KINESISVIDEO_FRAGMENT_NUMBER describe the
#             Cluster that follows.
/usr/bin/python3 - "$T/file.info" "$T/got.info" <<'PY' || fail "tags per fragment"
import re, sys

def fragments(path, getmedia):
    frags, cur, clusters = [], None, 0
    name = None
    for line in open(path, errors="replace"):
        if line.startswith("|+ Cluster"):
            clusters += 1
        elif line.startswith("|+ Tags"):
            cur = {}
            if not getmedia:
                assert clusters > 0, "Tags before the first Cluster"
                while len(frags) < clusters:
                    frags.append({})
                cur = frags[clusters - 1]
        elif line.startswith("|+ "):
            cur = None if not line.startswith("|+ Tags") else cur
        m = re.match(r"\|\s+\+ Name: (.*)", line)
        if m and cur is not None:
            name = m.group(1).strip()
            cur[name] = ""
            if getmedia and name == "AWS_KINESISVIDEO_FRAGMENT_NUMBER":
                frags.append(cur)
        m = re.match(r"\|\s+\+ String: (.*)", line)
        if m and cur is not None and name:
            cur[name] = m.group(1).strip()
    while not getmedia and len(frags) < clusters:
        frags.append({})
    return frags

want_image = [True, False, True, False, True, False]
want_note = [False, False, True, False, False, False]
for path, getmedia in ((sys.argv[1], False), (sys.argv[2], True)):
    frags = fragments(path, getmedia)
    where = "GetMedia" if getmedia else "file"
    assert len(frags) == 6, (where, len(frags), frags)
    for i, tags in enumerate(frags):
        image = "AWS_KINESISVIDEO_IMAGE_GENERATION" in tags
        note = "AWS_KINESISVIDEO_NOTIFICATION" in tags
        assert image == want_image[i], (where, i, tags)
        assert note == want_note[i], (where, i, tags)
        if image:
            assert tags.get("AWS_KINESISVIDEO_IMAGE_PREFIX") == "lobby", (where, i, tags)
        assert (tags.get("motion") == "door") == want_note[i], (where, i, tags)
        print("%s: fragment %d: %s" % (where, i, ", ".join(
            k for k in tags if not k.startswith("AWS_KINESISVIDEO_") or
            k in ("AWS_KINESISVIDEO_IMAGE_GENERATION", "AWS_KINESISVIDEO_NOTIFICATION")) or "-"))
print("ok: image tags on fragments 0, 2, 4 (prefix lobby); notification with motion=door on fragment 2")
PY
