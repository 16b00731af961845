"""Camera streams to test the camera workers against: H.264 files as a hall's NVR delivers them, served over RTSP.

`encode` writes the files (H.264 at 25 fps, a keyframe every GOP frames, D1 or 1080p) with PyAV;
`rtsp` serves them, looped in real time, from a real RTSP server (GStreamer's gst-rtsp-server in a
child process), which a test can stop, restart and stall like a camera that hangs.
"""
