"""The slideshow's ffmpeg plan as three small builders: slide timing and video graph, audio mix, command.

Each builder takes plain values (file names, frame counts, moves) and returns text: nothing here
reads a file or runs ffmpeg, so each can be checked alone on small inputs. The slideshow generator
(:mod:`aigc_sdk.generators.video.slideshow`) prepares the files and calls them in order:

1. :func:`slide_timing`: which frames each slide owns, and how long crossfades are, in frames;
2. :func:`video_graph`: Ken Burns motion (``zoompan``) or held stills, crossfades (``xfade`` on the
   overlapping frames only, the rest through ``concat``), then overlays (subtitles, logo, and the timed
   overlays of :func:`timed_overlay`: lower thirds and disclosure lines, faded or slid in and out);
3. :func:`audio_mix`: the narration padded to the video's length, a looped music bed faded in and out
   and ducked under the voice (``sidechaincompress``), limited;
4. :func:`ffmpeg_commands`: the picture's encoder, alone or fed raw frames by a producer when frames are
   marked with the invisible watermark in between; :func:`soundtrack_command`: the audio mix encoded as AAC
   (once per mix: a story's aspects share it); :func:`mux_command`: both copied into the MP4 with its tags
   and chapter marks (:func:`chapter_metadata`, an FFMETADATA file), index in front;
5. :func:`conform_command` and :func:`join_command`: a short video file re-encoded to the slideshow's stream,
   and the parts joined by the concat demuxer with the video copied (a brand's intro and outro, run by
   :mod:`aigc_sdk.generators.video.clips`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence, Set
from dataclasses import dataclass

from aigc_sdk.errors import InvalidRequestError
from aigc_sdk.types import Chapter, Motion

__all__ = [
    "Encoding",
    "FilterGraph",
    "Overlay",
    "Slide",
    "SlideTiming",
    "audio_mix",
    "chapter_metadata",
    "conform_command",
    "ffmpeg_commands",
    "join_command",
    "mux_command",
    "slide_timing",
    "soundtrack_command",
    "timed_overlay",
    "video_graph",
    "zoompan",
]


@dataclass(frozen=True)
class SlideTiming:
    """Frame bookkeeping: slide ``i`` owns frames ``[bounds[i], bounds[i + 1])``; crossfades are centred on cuts.

    Example:
        >>> t = slide_timing([1.0, 1.0], fps=10, crossfade=0.4)
        >>> t.bounds, t.fade, t.lengths, t.frames
        ((0, 10, 20), 4, (12, 12), 20)
    """

    bounds: tuple[int, ...]
    fade: int  # frames of each crossfade (0: cuts)
    lengths: tuple[int, ...]  # frames each slide renders: its span plus its share of the crossfades around it

    @property
    def frames(self) -> int:
        """Frames in the whole video.

        Example:
            >>> slide_timing([0.5], fps=10, crossfade=0.0).frames
            5
        """
        return self.bounds[-1]


def slide_timing(durations: Sequence[float], *, fps: int, crossfade: float) -> SlideTiming:
    """Frames per slide for slides of ``durations`` seconds at ``fps``, with crossfades of ``crossfade`` seconds.

    A single slide has no crossfade; ``crossfade=0`` means cuts.

    Raises:
        InvalidRequestError: A slide is not longer than a crossfade, in frames.

    Example:
        >>> slide_timing([1.0, 2.0, 1.0], fps=10, crossfade=0.2).lengths
        (11, 22, 11)
        >>> try:
        ...     slide_timing([0.3, 1.0], fps=10, crossfade=0.3)
        ... except ValueError as e:
        ...     "too short" in str(e)
        True
    """
    starts = list(itertools.accumulate(durations, initial=0.0))
    bounds = tuple(round(t * fps) for t in starts)
    n = len(durations)
    fade = round(crossfade * fps) if n > 1 else 0
    if fade and min(b - a for a, b in itertools.pairwise(bounds)) <= fade:
        raise InvalidRequestError(
            f"slides of {min(durations):.3g} s are too short for {crossfade:g} s crossfades at {fps} fps",
            hint="lower transition_duration or use longer slides",
        )
    lengths = tuple(
        bounds[i + 1] - bounds[i] + (fade // 2 if i > 0 else 0) + (fade - fade // 2 if i < n - 1 else 0)
        for i in range(n)
    )
    return SlideTiming(bounds=bounds, fade=fade, lengths=lengths)


@dataclass(frozen=True)
class Slide:
    """One prepared still in the graph: its file, the frames it renders, and its move (None: held).

    With ``footage``, the file is a moving clip instead (e.g. a still animated by a video model): it plays
    from its start, scaled and cropped to fill the frame, looped if shorter than the slide.

    Example:
        >>> Slide("still0.bmp", 25, None).motion is None
        True
        >>> Slide("/tmp/clip.mp4", 25, None, footage=True).footage
        True
    """

    file: str
    frames: int
    motion: Motion | None
    footage: bool = False


@dataclass(frozen=True)
class Overlay:
    """A picture stream laid over the video at ``(x, y)``: its input arguments and an optional conversion.

    Example:
        >>> Overlay("logoed", ("-i", "logo.png"), x=4, y=4).convert is None
        True
    """

    name: str
    args: tuple[str, ...]
    x: int | str  # pixels, or an ffmpeg expression of t (a slide)
    y: int
    convert: str | None = None  # a filter applied to the overlay's stream first, e.g. "format=yuva420p"
    stream: str = ""  # the label given to the converted stream
    enable: str | None = None  # an ffmpeg expression of t: when the overlay is drawn (None: always)
    eof_action: str = "repeat"  # what the overlay shows after its stream ends: its last frame, or nothing ("pass")


def timed_overlay(
    index: int,
    file: str,
    *,
    start: float,
    end: float,
    x: int,
    y: int,
    width: int,
    animation: str,
    ramp: float,
    fps: int,
) -> Overlay:
    """A still shown from ``start`` to ``end`` s at ``(x, y)``, coming in and going with ``animation``.

    The still is looped in the graph (decoded once); ``fade`` ramps its opacity over ``ramp`` s,
    ``slide`` also moves it in from the left edge and back out (``width`` is the still's width);
    outside its span the overlay is not drawn at all.

    Example:
        >>> o = timed_overlay(0, "lt0.png", start=1.0, end=3.0, x=40, y=300, width=200, animation="slide",
        ...                   ramp=0.5, fps=10)
        >>> o.args, o.enable
        (('-framerate', '10', '-i', 'lt0.png'), 'between(t,1.000000,3.000000)')
        >>> o.x
        '40-240*(max(0,1-(t-1.000000)/0.500000)+max(0,(t-2.500000)/0.500000))'
        >>> "fade=t=in:st=1.000000:d=0.500000:alpha=1" in o.convert
        True
    """
    frames = int(end * fps) + 2
    convert = f"format=yuva420p,loop=loop={frames - 1}:size=1:start=0,setpts=N/({fps}*TB)"
    position: int | str = x
    if animation != "none" and ramp > 0:
        convert += f",fade=t=in:st={start:.6f}:d={ramp:.6f}:alpha=1,fade=t=out:st={end - ramp:.6f}:d={ramp:.6f}:alpha=1"
        if animation == "slide":
            position = f"{x}-{x + width}*(max(0,1-(t-{start:.6f})/{ramp:.6f})+max(0,(t-{end - ramp:.6f})/{ramp:.6f}))"
    return Overlay(
        f"timed{index}",
        ("-framerate", str(fps), "-i", file),
        x=position,
        y=y,
        convert=convert,
        stream=f"still{index}",
        enable=f"between(t,{start:.6f},{end:.6f})",
        eof_action="pass",
    )


@dataclass(frozen=True)
class FilterGraph:
    """Input arguments, filter chains and the label of the output pad (None: nothing to map).

    Example:
        >>> g = FilterGraph(inputs=("-i", "a.wav"), chains=("[0:a]volume=2[out]",), output="out", streams=1)
        >>> g.text
        '[0:a]volume=2[out]'
    """

    inputs: tuple[str, ...]
    chains: tuple[str, ...]
    output: str | None
    streams: int  # inputs this graph opens (its first one is numbered by the caller)

    @property
    def text(self) -> str:
        """The chains joined as ffmpeg's ``-filter_complex`` wants them.

        Example:
            >>> FilterGraph((), ("[0:v]null[a]", "[a]null[b]"), "b", 0).text
            '[0:v]null[a];[a]null[b]'
        """
        return ";".join(self.chains)


def zoompan(
    motion: Motion, length: int, width: int, height: int, fps: int, *, first: int = 0, span: int | None = None
) -> str:
    """The ``zoompan`` filter moving linearly from the motion's start to its end over ``length`` frames.

    With ``first`` and ``span``, it renders ``length`` frames from frame ``first`` of a move that
    lasts ``span`` frames (a dip's covered still stands in for those frames of its slide).

    Example:
        >>> zoompan(Motion(zoom_start=1.0, zoom_end=1.2), 11, 160, 90, 10)[:40]
        "zoompan=z='1.000000+0.200000*(on/10)':x="
        >>> zoompan(Motion(zoom_start=1.0, zoom_end=1.2), 3, 160, 90, 10, first=8, span=11)[:44]
        "zoompan=z='1.000000+0.200000*((on+8)/10)':x="
    """
    frames = length if span is None else span
    p = f"((on+{first})/{max(frames - 1, 1)})" if first else f"(on/{max(frames - 1, 1)})"
    zoom = f"{motion.zoom_start:.6f}{motion.zoom_end - motion.zoom_start:+.6f}*{p}"
    x = f"({motion.x_start:.6f}{motion.x_end - motion.x_start:+.6f}*{p})*iw-iw/zoom/2"
    y = f"({motion.y_start:.6f}{motion.y_end - motion.y_start:+.6f}*{p})*ih-ih/zoom/2"
    return f"zoompan=z='{zoom}':x='{x}':y='{y}':d={length}:s={width}x{height}:fps={fps}"


@dataclass(frozen=True)
class Dip:
    """A crossfade that dips through what two slides on one ground share (two text cards, a card and a chart).

    ``before`` and ``after`` are the two slides' stills with their own pixels (their text, and around
    it) covered by the bare ground, so each shows only what both share (a headline, the chrome). The
    first half of the crossfade fades slide ``i`` into ``before``, the second half ``after`` into slide
    ``i + 1``; the covered stills make the same move as their slides. Two texts never show over each
    other, and the shared headline stays put.

    Example:
        >>> Dip("before0.bmp", "after0.bmp").after
        'after0.bmp'
    """

    before: str
    after: str


def video_graph(
    slides: Sequence[Slide],
    *,
    fade: int,
    width: int,
    height: int,
    fps: int,
    overlays: Sequence[Overlay] = (),
    dips: Sequence[Dip | None] = (),
) -> FilterGraph:
    """The video filter graph: moving or held slides, crossfades of ``fade`` frames, overlays; output ``vout``.

    Crossfades touch only the overlapping frames: each slide is split into head | body | tail,
    tail ``i`` is blended with head ``i + 1``, and the rest is concatenated untouched. Where ``dips[i]``
    is set, the crossfade after slide ``i`` dips through the slides' shared ground (:class:`Dip`).

    Example:
        >>> g = video_graph([Slide("a.bmp", 12, None), Slide("b.bmp", 12, None)], fade=4, width=16, height=16, fps=10)
        >>> g.inputs
        ('-framerate', '10', '-i', 'a.bmp', '-framerate', '10', '-i', 'b.bmp')
        >>> [c for c in g.chains if "xfade" in c]
        ['[t0][h1]xfade=transition=fade:duration=0.400000:offset=0[x0]']
        >>> g.chains[-2:], g.output
        (('[b0][x0][b1]concat=n=3:v=1:a=0[slides]', '[slides]format=yuv420p[vout]'), 'vout')
        >>> dipped = video_graph([Slide("a.bmp", 12, None), Slide("b.bmp", 12, None)], fade=4, width=16, height=16,
        ...                      fps=10, dips=[Dip("a0.bmp", "b0.bmp")])
        >>> dipped.inputs[-4:], [c.split(",")[-1] for c in dipped.chains if c.startswith(("[2:v]", "[3:v]"))]
        (('-framerate', '10', '-i', 'b0.bmp'), ['setsar=1[c10]', 'setsar=1[c20]'])
    """
    inputs: list[str] = []
    chains: list[str] = []
    for i, slide in enumerate(slides):
        if slide.footage:
            inputs += ["-stream_loop", "-1", "-i", slide.file]
            fill = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"
            chains.append(f"[{i}:v]fps={fps},{fill},trim=end_frame={slide.frames},setpts=N/({fps}*TB),"
                          f"format=yuv420p,setsar=1[z{i}]")  # fmt: skip
            continue
        inputs += ["-framerate", str(fps), "-i", slide.file]
        chains.append(_still(i, f"z{i}", slide, slide.frames, width, height, fps))
    dipped: set[int] = set()
    for i, dip in enumerate(dips if fade >= 2 else ()):
        if dip is None or slides[i].footage or slides[i + 1].footage:
            continue
        half, stream = fade // 2, len(slides) + 2 * len(dipped)
        inputs += ["-framerate", str(fps), "-i", dip.before, "-framerate", str(fps), "-i", dip.after]
        chains.append(_still(stream, f"c1{i}", slides[i], half, width, height, fps, first=slides[i].frames - fade))
        chains.append(_still(stream + 1, f"c2{i}", slides[i + 1], fade - half, width, height, fps, first=half))
        dipped.add(i)
    chains += _crossfades([s.frames for s in slides], fade, fps, dipped)
    label, streams = "slides", len(slides) + 2 * len(dipped)
    for overlay in overlays:
        inputs += overlay.args
        source = f"[{streams}:v]"
        if overlay.convert is not None:
            chains.append(f"{source}{overlay.convert}[{overlay.stream}]")
            source = f"[{overlay.stream}]"
        x = f"'{overlay.x}'" if isinstance(overlay.x, str) else overlay.x
        enable = f":enable='{overlay.enable}'" if overlay.enable else ""
        chains.append(
            f"[{label}]{source}overlay=x={x}:y={overlay.y}:eof_action={overlay.eof_action}:format=yuv420{enable}"
            f"[{overlay.name}]"
        )
        label, streams = overlay.name, streams + 1
    chains.append(f"[{label}]format=yuv420p[vout]")
    return FilterGraph(inputs=tuple(inputs), chains=tuple(chains), output="vout", streams=streams)


def _still(
    stream: int, label: str, slide: Slide, length: int, width: int, height: int, fps: int, *, first: int = 0
) -> str:
    """Input ``stream`` (a still) as ``length`` frames of ``slide``'s move from its frame ``first``, as ``label``."""
    if slide.motion is None:
        move = f"loop=loop={length - 1}:size=1:start=0,setpts=N/({fps}*TB)"
    else:
        move = zoompan(slide.motion, length, width, height, fps, first=first, span=slide.frames)
    return f"[{stream}:v]format=yuv420p,{move},setsar=1[{label}]"


def _crossfades(lengths: Sequence[int], fade: int, fps: int, dipped: Set[int]) -> list[str]:
    """Split, trim, blend and concatenate the slide streams ``[z0]`` … into ``[slides]``."""
    n = len(lengths)
    if not fade:
        return ["".join(f"[z{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[slides]"]
    chains: list[str] = []
    pieces: list[str] = []
    for i, length in enumerate(lengths):
        has_head, has_tail = i > 0, i < n - 1
        names = (["h"] if has_head else []) + ["b"] + (["t"] if has_tail else [])
        chains.append(f"[z{i}]split={len(names)}" + "".join(f"[{k}{i}in]" for k in names))
        body_start = fade if has_head else 0
        body_end = length - fade if has_tail else length
        if has_head:
            chains.append(f"[h{i}in]trim=end_frame={fade},setpts=PTS-STARTPTS[h{i}]")
        chains.append(f"[b{i}in]trim=start_frame={body_start}:end_frame={body_end},setpts=PTS-STARTPTS[b{i}]")
        if has_tail:
            chains.append(f"[t{i}in]trim=start_frame={length - fade},setpts=PTS-STARTPTS[t{i}]")
            pieces += [f"[b{i}]", f"[x{i}]"]
        else:
            pieces.append(f"[b{i}]")
    for i in range(n - 1):
        if i in dipped:
            chains += _dip(i, fade, fps)
        else:
            chains.append(f"[t{i}][h{i + 1}]xfade=transition=fade:duration={fade / fps:.6f}:offset=0[x{i}]")
    chains.append("".join(pieces) + f"concat=n={len(pieces)}:v=1:a=0[slides]")
    return chains


def _dip(i: int, fade: int, fps: int) -> list[str]:
    """Tail ``i`` → its covered still ``[c1{i}]``, then ``[c2{i}]`` → head ``i + 1``, as ``[x{i}]``."""
    half = fade // 2
    return [
        f"[t{i}]trim=end_frame={half},setpts=PTS-STARTPTS[t1{i}]",
        f"[h{i + 1}]trim=start_frame={half},setpts=PTS-STARTPTS[h2{i}]",
        f"[t1{i}][c1{i}]xfade=transition=fade:duration={half / fps:.6f}:offset=0[d1{i}]",
        f"[c2{i}][h2{i}]xfade=transition=fade:duration={(fade - half) / fps:.6f}:offset=0[d2{i}]",
        f"[d1{i}][d2{i}]concat=n=2:v=1:a=0[x{i}]",
    ]


def audio_mix(
    *,
    first_input: int,
    total: float,
    rate: int,
    narration: str | None = None,
    music: str | None = None,
    music_volume: float = 0.25,
    duck: bool = True,
) -> FilterGraph:
    """The audio graph: narration padded or cut to ``total`` s, music looped, faded and ducked under it.

    Inputs are numbered from ``first_input`` (after the video's). The output is ``voice``, ``music``
    or ``mix``; None when there is no audio at all.

    Example:
        >>> g = audio_mix(first_input=2, total=4.0, rate=48000, narration="narration.wav", music="music.wav")
        >>> g.inputs
        ('-i', 'narration.wav', '-stream_loop', '-1', '-i', 'music.wav')
        >>> g.chains[0].startswith("[2:a]aresample=48000"), g.chains[1].startswith("[3:a]"), g.output
        (True, True, 'mix')
        >>> import re
        >>> [re.search("[]]([a-z]+)=", c)[1] for c in g.chains[2:]]
        ['asplit', 'sidechaincompress', 'amix', 'alimiter']
        >>> audio_mix(first_input=0, total=1.0, rate=48000).output is None
        True
    """
    fmt = f"aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo"
    inputs: list[str] = []
    chains: list[str] = []
    index = first_input
    if narration is not None:
        inputs += ["-i", narration]
        chains.append(f"[{index}:a]{fmt},apad,atrim=end={total:.6f}[voice]")
        index += 1
    if music is not None:
        inputs += ["-stream_loop", "-1", "-i", music]
        fade_out = min(2.0, total / 4)
        chains.append(
            f"[{index}:a]{fmt},atrim=end={total:.6f},volume={music_volume:.4f},"
            f"afade=t=in:d={min(0.5, total / 4):.3f},afade=t=out:st={total - fade_out:.3f}:d={fade_out:.3f}[music]"
        )
        index += 1
    output = "voice" if narration is not None else "music" if music is not None else None
    if narration is not None and music is not None:
        if duck:
            chains.append("[voice]asplit=2[voice_mix][voice_key]")
            # The compressor stops when the first of its inputs ends, at a point that varies from run to run:
            # both are padded and its output trimmed, so the bed (and a clip's audio) is the same every time.
            chains.append(
                "[music]apad[music_long];[voice_key]apad[key_long];[music_long][key_long]"
                f"sidechaincompress=threshold=0.015:ratio=8:attack=20:release=400,atrim=end={total:.6f}[bed]"
            )
            chains.append("[voice_mix][bed]amix=inputs=2:duration=first:normalize=0[mixed]")
        else:
            chains.append("[voice][music]amix=inputs=2:duration=first:normalize=0[mixed]")
        chains.append("[mixed]alimiter=limit=0.97:level=0[mix]")
        output = "mix"
    return FilterGraph(inputs=tuple(inputs), chains=tuple(chains), output=output, streams=index - first_input)


@dataclass(frozen=True)
class Encoding:
    """What the encoder needs besides the graphs: size, rate, length, x264 settings, tags.

    Example:
        >>> Encoding(width=16, height=16, fps=10, frames=20, preset="veryfast", crf=23, rate=48000).threads
        0
    """

    width: int
    height: int
    fps: int
    frames: int
    preset: str
    crf: int
    rate: int
    threads: int = 0
    metadata: tuple[tuple[str, str], ...] = ()
    chapters: str | None = None  # an FFMETADATA file of chapter marks (see chapter_metadata), muxed in


def ffmpeg_commands(
    ffmpeg: str, video: FilterGraph, encoding: Encoding, *, marked: bool
) -> tuple[list[str], list[str]]:
    """The picture's encoder command (its output file still to append) and, when frames are marked, the frame producer.

    The encoder writes the picture alone, as H.264 in MP4: :func:`mux_command` then puts it together with the
    soundtrack (:func:`soundtrack_command`), the tags and the chapters. Unmarked: one ffmpeg renders the video
    graph and encodes it. Marked: the producer writes raw yuv420p frames of the video graph to stdout, and the
    encoder reads them on stdin.

    Example:
        >>> v = video_graph([Slide("a.bmp", 5, None)], fade=0, width=16, height=16, fps=10)
        >>> enc = Encoding(width=16, height=16, fps=10, frames=5, preset="veryfast", crf=23, rate=48000)
        >>> command, producer = ffmpeg_commands("ffmpeg", v, enc, marked=False)
        >>> producer, command[command.index("-map") + 1], command[-2:]
        ([], '[vout]', ['-f', 'mp4'])
        >>> command, producer = ffmpeg_commands("ffmpeg", v, enc, marked=True)
        >>> producer[-1], command[command.index("-map") + 1], "-an" in command
        ('-', '0:v', True)
    """
    e = encoding
    encode = [*_h264(e), "-frames:v", str(e.frames), "-an", *(["-threads", str(e.threads)] if e.threads else []),
              "-f", "mp4"]  # fmt: skip
    graph = [*_base(ffmpeg), *video.inputs, "-filter_complex", video.text, "-map", f"[{video.output}]"]
    if not marked:
        return [*graph, *encode], []
    producer = [*graph, "-frames:v", str(e.frames), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{e.width}x{e.height}", "-r", str(e.fps), "-i", "-"]
    return [*_base(ffmpeg), *raw, "-map", "0:v", *encode], producer


def soundtrack_command(ffmpeg: str, audio: FilterGraph, encoding: Encoding) -> list[str] | None:
    """The command that mixes the audio graph and encodes it as AAC in MP4 (output file still to append).

    ``audio`` numbers its inputs from 0; None when the video has no sound. The same mix gives the same
    command, whichever picture it goes with: the slideshow encodes a story's soundtrack once for all its aspects.

    Example:
        >>> a = audio_mix(first_input=0, total=0.5, rate=48000, narration="n.wav")
        >>> enc = Encoding(width=16, height=16, fps=10, frames=5, preset="veryfast", crf=23, rate=48000)
        >>> command = soundtrack_command("ffmpeg", a, enc)
        >>> command[command.index("-i") + 1], command[command.index("-map") + 1], command[-2:]
        ('n.wav', '[voice]', ['-f', 'mp4'])
        >>> soundtrack_command("ffmpeg", audio_mix(first_input=0, total=0.5, rate=48000), enc) is None
        True
    """
    if audio.output is None:
        return None
    return [*_base(ffmpeg), *audio.inputs, "-filter_complex", audio.text, "-map", f"[{audio.output}]", "-vn",
            *_aac(encoding), "-f", "mp4"]  # fmt: skip


def mux_command(ffmpeg: str, picture: str, soundtrack: str | None, encoding: Encoding) -> list[str]:
    """The command that puts the picture and the soundtrack in one MP4, both copied (output file still to append).

    It adds the encoding's tags and chapter marks and moves the index to the front (``+faststart``), so a
    browser starts playing before the whole file has arrived.

    Example:
        >>> enc = Encoding(width=16, height=16, fps=10, frames=5, preset="veryfast", crf=23, rate=48000,
        ...                metadata=(("title", "Storm"),), chapters="chapters.txt")
        >>> command = mux_command("ffmpeg", "picture.mp4", "soundtrack.m4a", enc)
        >>> [command[i + 1] for i, arg in enumerate(command) if arg in ("-i", "-map", "-c", "-map_chapters")]
        ['picture.mp4', 'soundtrack.m4a', 'chapters.txt', '0:v', '1:a', '2', 'copy']
        >>> "-an" in mux_command("ffmpeg", "picture.mp4", None, enc)
        True
    """
    e = encoding
    inputs, maps = ["-i", picture], ["-map", "0:v"]
    if soundtrack is not None:
        inputs += ["-i", soundtrack]
        maps += ["-map", "1:a"]
    else:
        maps += ["-an"]
    if e.chapters is not None:
        maps += ["-map_chapters", str(inputs.count("-i"))]
        inputs += ["-f", "ffmetadata", "-i", e.chapters]
    tags = [arg for key, value in e.metadata for arg in ("-metadata", f"{key}={value}")]
    return [*_base(ffmpeg), *inputs, *maps, "-c", "copy", *tags, "-movflags", "+faststart", "-f", "mp4"]


def _base(ffmpeg: str) -> list[str]:
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


#: The ``slides`` preset: x264's ``ultrafast`` plus the few tools that pay for themselves on moving stills
#: and cards (CABAC, 3 B-frames, deblocking, 2 references, sub-pixel motion, 4x4 intra). On the demo clip:
#: SSIM 0.997 against ``slow`` (as ``veryfast``), about half of ``veryfast``'s encoder CPU, ~2.5x its bitrate.
SLIDES_X264 = "cabac=1:bframes=3:deblock=1:ref=2:subme=2:partitions=i4x4"


def _h264(e: Encoding) -> list[str]:
    """The video encoder's settings: every clip made with the same ones has the same H.264 stream parameters."""
    preset = ["-preset", "ultrafast", "-x264-params", SLIDES_X264] if e.preset == "slides" else ["-preset", e.preset]
    return ["-c:v", "libx264", *preset, "-crf", str(e.crf), "-pix_fmt", "yuv420p", "-r", str(e.fps)]


def _aac(e: Encoding) -> list[str]:
    # the "fast" coder: a third of the default twoloop coder's CPU (0.7 s vs 1.8 s for a minute of stereo)
    return ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k", "-ar", str(e.rate)]


def conform_command(ffmpeg: str, source: str, encoding: Encoding, *, has_audio: bool, background: str) -> list[str]:
    """Re-encode a video file as a slideshow's stream (output file still to append), ``encoding.frames`` long.

    The picture is fitted inside the frame and padded with ``background``, at the frame rate (its last
    frame held when the file runs short), untagged 4:2:0 like the slideshow's; the sound is its own
    (padded or cut to the length) or silence, stereo at the rate. Encoded with the slideshow's H.264
    settings, so the concat demuxer can join the two without re-encoding either (see :func:`join_command`).

    Example:
        >>> enc = Encoding(width=320, height=180, fps=25, frames=50, preset="veryfast", crf=23, rate=48000)
        >>> cmd = conform_command("ffmpeg", "intro.mp4", enc, has_audio=False, background="#101820")
        >>> cmd[cmd.index("-f") + 1:cmd.index("-f") + 6]
        ['lavfi', '-t', '2.000000', '-i', 'anullsrc=r=48000:cl=stereo']
        >>> graph = cmd[cmd.index("-filter_complex") + 1]
        >>> "pad=320:180:(ow-iw)/2:(oh-ih)/2:color=0x101820" in graph, "trim=end_frame=50" in graph
        (True, True)
    """
    e = encoding
    seconds = f"{e.frames / e.fps:.6f}"
    fmt = f"aresample={e.rate},aformat=sample_fmts=fltp:channel_layouts=stereo"
    video = (
        f"[0:v]scale={e.width}:{e.height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
        f"pad={e.width}:{e.height}:(ow-iw)/2:(oh-ih)/2:color=0x{background.lstrip('#')[:6]},setsar=1,"
        f"fps={e.fps},tpad=stop_mode=clone:stop_duration=1,trim=end_frame={e.frames},setpts=PTS-STARTPTS,"
        "format=yuv420p,setparams=range=unknown:color_primaries=unknown:color_trc=unknown:colorspace=unknown[v]"
    )
    silence = [] if has_audio else ["-f", "lavfi", "-t", seconds, "-i", f"anullsrc=r={e.rate}:cl=stereo"]
    sound = f"[{0 if has_audio else 1}:a]{fmt},apad,atrim=end={seconds},asetpts=PTS-STARTPTS[a]"
    return [*_base(ffmpeg), "-i", source, *silence, "-filter_complex", f"{video};{sound}", "-map", "[v]",
            "-map", "[a]", *_h264(e), "-frames:v", str(e.frames), *_aac(e), "-movflags", "+faststart"]  # fmt: skip


def join_command(ffmpeg: str, playlist: str, parts: Sequence[str], encoding: Encoding, *, copy: bool) -> list[str]:
    """Join ``parts`` (listed in that order in the ffconcat ``playlist``): output file still to append.

    The video streams go through the concat demuxer, copied when they are identical (``copy``; else
    encoded once more); the sound of each part is decoded on its own and joined, then encoded once
    (copied AAC would overlap at each join by the encoder's priming samples). Chapters
    (``encoding.chapters``) and tags (``encoding.metadata``) are the joined file's own.

    Example:
        >>> enc = Encoding(width=16, height=16, fps=10, frames=0, preset="veryfast", crf=23, rate=48000)
        >>> cmd = join_command("ffmpeg", "parts.ffconcat", ["intro.mp4", "story.mp4"], enc, copy=True)
        >>> cmd[cmd.index("-filter_complex") + 1], cmd[cmd.index("-c:v") + 1]
        ('[1:a][2:a]concat=n=2:v=0:a=1[aout]', 'copy')
    """
    e = encoding
    # timestamps as the parts have them: else the demuxer's start (the first part's AAC priming, before 0) moves
    # the video a little after the sound, and players show a frame twice
    inputs = ["-copyts", "-f", "concat", "-safe", "0", "-i", playlist]
    for part in parts:
        inputs += ["-i", part]
    chapters = ["-map_chapters", "-1"]
    if e.chapters is not None:
        inputs += ["-f", "ffmetadata", "-i", e.chapters]
        chapters = ["-map_chapters", str(len(parts) + 1)]
    sound = "".join(f"[{i}:a]" for i in range(1, len(parts) + 1)) + f"concat=n={len(parts)}:v=0:a=1[aout]"
    video = ["-c:v", "copy"] if copy else _h264(e)
    tags = [arg for key, value in e.metadata for arg in ("-metadata", f"{key}={value}")]
    return [*_base(ffmpeg), *inputs, "-filter_complex", sound, "-map", "0:v", "-map", "[aout]", *video, *_aac(e),
            *chapters, *tags, "-movflags", "+faststart"]  # fmt: skip


def chapter_metadata(chapters: Sequence[Chapter], total: float) -> str:
    r"""An FFMETADATA file of chapter marks (milliseconds), each ending by ``total`` seconds.

    Example:
        >>> text = chapter_metadata([Chapter(title="Intro", start=0.0, end=2.5),
        ...                          Chapter(title="A=b; #c", start=2.5, end=9.0)], total=4.0)
        >>> print(text)
        ;FFMETADATA1
        [CHAPTER]
        TIMEBASE=1/1000
        START=0
        END=2500
        title=Intro
        [CHAPTER]
        TIMEBASE=1/1000
        START=2500
        END=4000
        title=A\=b\; \#c
        <BLANKLINE>
    """
    lines = [";FFMETADATA1"]
    for chapter in chapters:
        if chapter.start >= total:
            break
        title = re.sub(r"([=;#\\])", r"\\\1", " ".join(chapter.title.split()))  # FFMETADATA's escapes
        end = min(chapter.end, total)
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(chapter.start * 1000)}",
                  f"END={round(end * 1000)}", f"title={title}"]  # fmt: skip
    return "\n".join(lines) + "\n"
