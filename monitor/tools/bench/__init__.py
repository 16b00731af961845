"""`monitor bench`: a synthetic hall of N cameras x K windows, run naive and optimised, side by side.

The hall is built from the fixture clips (fixtures/videos): each synthetic camera is a mosaic of K
single-window clips, each started at its own offset, written as a video file, so that decoding,
detection, seat zones, the presence machine and its messages are all the real worker's. The seat
zones, exclusions and the ground-truth occupancy of each clip follow its tile into the mosaic.

The pipelines run in a fresh child process each (so CPU time and peak memory are each their own),
one after the other, over the same files — all of them, or those `BenchSpec.modes` names (`--modes optimised`: the
optimised one alone, at larger camera counts):
- naive: the worker as it is written (monitor.services.pipeline.CameraPipeline, the detector as load_detector
  gives it): the detector on every sampled frame of every camera, whole frame;
- naive-tuned: the same, with the optimised mode's onnxruntime session (`threads` inference
  threads, no spinning: see monitor.services.gated.limit_threads), so that what gating and tiling save
  can be told apart from what the session setting saves;
- optimised: monitor.services.gated: per-zone motion gating with re-verification, region tiles packed
  across cameras into shared detector calls, the tuned session.

Measured per pipeline: frames decoded and detector calls per second, CPU seconds (user + system,
getrusage) per camera-hour and as cores at real time, peak memory (ru_maxrss) and what each camera adds to the
process's resident memory, seat readings per detector call, real-time factor
(the hall's video seconds per wall second; >= 1 is real time), and the delay from a seat change in
the ground truth to the window state change the pipeline publishes (video time from the change to
the frame that published it, plus that frame's wall time from decoding to message).

Modules: `hall` builds the synthetic hall, `runner` runs one pipeline over it in a child process,
`measure` turns a run into figures, `report` runs the modes and compares them; `machine` says what each benchmark
ran on.

`recorder` is another benchmark, `monitor bench-recorder`: the recorder draining a backlog of signed
incidents that the broker kept while it was down; `district` another, `monitor bench-district`: the district's
hall and township centres through bridged brokers into one recorder (docs/benchmarks.md).
"""
