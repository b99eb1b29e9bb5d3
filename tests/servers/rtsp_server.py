#!/usr/bin/python3
"""A real RTSP server for the rtsp module's tests: GStreamer's gst-rtsp-server
serving x264 at a small size, optionally with Basic or Digest authentication.

  rtsp_server.py --port P [--path /cam] [--auth none|basic|digest]
                 [--user U --password W] [--frames N] [--sent FILE]
                 [--config-interval -1|0] [--fps 30] [--size 320x240]
                 [--bframes N [--b-pyramid]]

--sent FILE also writes the exact H.264 stream that is sent (byte-stream,
one file per media instance), so a test can compare decoded pictures.
Prints "ready" on stdout once listening. Runs with Debian's python3-gi.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", required=True)
    ap.add_argument("--path", default="/cam")
    ap.add_argument("--auth", default="none", choices=["none", "basic", "digest"])
    ap.add_argument("--user", default="user")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--frames", type=int, default=-1)
    ap.add_argument("--sent", default="")
    ap.add_argument("--config-interval", type=int, default=0)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--keyint", type=int, default=30)
    ap.add_argument("--bframes", type=int, default=0,
                    help="B-frames between references (0: none, as cameras; "
                         "above 0 drops tune=zerolatency, which forbids them)")
    ap.add_argument("--b-pyramid", action="store_true",
                    help="with --bframes >= 2: B-frames used as references")
    ap.add_argument("--session-timeout", type=int, default=0,
                    help="seconds announced in Session: (0: server default, 60)")
    ap.add_argument("--codec", default="h264", choices=["h264", "h265"],
                    help="h265: x265enc ! rtph265pay (RFC 7798), no B-frames")
    a = ap.parse_args()
    Gst.init(None)
    w, h = a.size.split("x")
    if a.bframes > 0:
        # Main profile: with no profile asked downstream x264enc picks
        # Baseline, which has no B-frames.
        enc = (f"speed-preset=ultrafast bframes={a.bframes} b-adapt=false "
               f"b-pyramid={'true' if a.b_pyramid else 'false'} "
               f"! video/x-h264,profile=main")
    else:
        enc = "tune=zerolatency speed-preset=ultrafast bframes=0"
    src = (f"videotestsrc is-live=true num-buffers={a.frames} pattern=ball "
           f"! video/x-raw,width={w},height={h},framerate={a.fps}/1 "
           f"! x264enc key-int-max={a.keyint} {enc} "
           f"! h264parse ! video/x-h264,stream-format=byte-stream,alignment=au ")
    pay = "rtph264pay"
    if a.codec == "h265":
        src = (f"videotestsrc is-live=true num-buffers={a.frames} pattern=ball "
               f"! video/x-raw,format=I420,width={w},height={h},"
               f"framerate={a.fps}/1 ! x265enc key-int-max={a.keyint} tune=zerolatency "
               f"speed-preset=ultrafast "
               f"! h265parse ! video/x-h265,stream-format=byte-stream,alignment=au ")
        pay = "rtph265pay"
    if a.sent:
        launch = (f"( {src} ! tee name=t t. ! queue ! {pay} name=pay0 pt=96 "
                  f"config-interval={a.config_interval} "
                  f"t. ! queue ! filesink location={a.sent} )")
    else:
        launch = (f"( {src} ! {pay} name=pay0 pt=96 "
                  f"config-interval={a.config_interval} )")
    srv = GstRtspServer.RTSPServer()
    srv.set_address("127.0.0.1")
    srv.set_service(a.port)
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch(launch)
    f.set_shared(True)
    if a.auth != "none":
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        if a.auth == "basic":
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password), token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        else:
            auth.add_digest(a.user, a.password, token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        srv.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_role("viewer")
        perms.add_permission_for_role("viewer", "media.factory.access", True)
        perms.add_permission_for_role("viewer", "media.factory.construct", True)
        f.set_permissions(perms)
    if a.session_timeout > 0:
        def on_client(_srv, client):
            client.connect("new-session",
                           lambda _c, session: session.set_timeout(a.session_timeout))
        srv.connect("client-connected", on_client)
    srv.get_mount_points().add_factory(a.path, f)
    if srv.attach(None) == 0:
        print("cannot listen on port", a.port, file=sys.stderr)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
