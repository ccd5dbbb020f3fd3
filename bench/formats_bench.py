"""Reading every input format: records per second, and memory that does not grow with a file.

Each format gets a generated sample (real files: python-docx writes the Word files, fpdf2 the
PDFs, warcio the web archive); a child process reads it as ingest does (`discover` and
`load_parts`: parsing only, no chunking or embedding, which `ingest_bench` measures) and
reports how many records it read; its wall time and peak RSS are measured from outside. Then
the streaming claims: a big JSON Lines export (2 GB in the full run), an RSS feed over the
file limit (200 MB) and a web archive of 10,000 pages are read with the memory of a small one,
and that archive is ingested whole (model and embedding included) with the memory of one of
1,000 pages.

    python -m bench.formats_bench [--small] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import bench_env, newsdesk_cmd, rate, run_process

PARAGRAPH = (
    "The council voted on {day} to build new flood walls along Water Lane, at a cost of "
    "{money} million pounds, the mayor said after a meeting that ran late into the night. "
    "Residents who were flooded last winter welcomed the decision but asked when work would "
    "start, and the engineers said the first section should be finished before the rains."
)


def _body(i: int, paragraphs: int = 3) -> str:
    return "\n\n".join(
        PARAGRAPH.format(day=f"day {i}.{p}", money=f"{i % 90 + 1}.{p}") for p in range(paragraphs)
    )


def _title(i: int) -> str:
    return f"Flood walls approved for Water Lane, report {i}"


# --------------------------------------------------------------------------- samples


def jsonl(path: Path, n: int, *, paragraphs: int = 3) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            record = {"id": f"r{i}", "title": _title(i), "text": _body(i, paragraphs)}
            out.write(json.dumps(record) + "\n")
    return path


def jsonl_of_size(path: Path, size_bytes: int) -> tuple[Path, int]:
    """A JSON Lines file of about `size_bytes`, written in blocks; (path, records)."""
    line = json.dumps({"id": "r{i}", "title": _title(0), "text": _body(0, 6)})
    per = len(line) + 8
    n = max(1, size_bytes // per)
    with path.open("w", encoding="utf-8") as out:
        block: list[str] = []
        for i in range(n):
            block.append(line.replace("r{i}", f"r{i}", 1))
            if len(block) == 10_000:
                out.write("\n".join(block) + "\n")
                block = []
        if block:
            out.write("\n".join(block) + "\n")
    return path, n


def rss_of_size(path: Path, size_bytes: int) -> tuple[Path, int]:
    """An RSS feed of about `size_bytes` (over the 20 MB file limit: read an entry at a time)."""
    from xml.sax.saxutils import escape

    body = escape(_body(0, 6))
    item = (
        "<item><title>{t}</title><guid>urn:courier:{i}</guid><pubDate>Mon, 04 Mar 2024 "
        "10:00:00 GMT</pubDate><description>" + body + "</description></item>\n"
    )
    n = max(1, size_bytes // (len(item) + 40))
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>')
        out.write("<title>Courier</title>\n")
        for i in range(n):
            out.write(item.format(t=escape(_title(i)), i=i))
        out.write("</channel></rss>\n")
    return path, n


def csv_file(path: Path, n: int) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "title", "text"])
        for i in range(n):
            writer.writerow([f"c{i}", _title(i), _body(i)])
    return path


def rss(path: Path, n: int) -> Path:
    from xml.sax.saxutils import escape

    items = "".join(
        f"<item><title>{escape(_title(i))}</title><link>https://courier.example/{i}</link>"
        f"<guid>https://courier.example/{i}</guid><pubDate>Mon, 04 Mar 2024 10:00:00 GMT"
        f"</pubDate><description>{escape(_body(i))}</description></item>"
        for i in range(n)
    )
    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Courier</title>{items}</channel></rss>",
        encoding="utf-8",
    )
    return path


def docx_files(folder: Path, n: int) -> Path:
    import docx

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        document = docx.Document()
        document.add_heading(_title(i), level=1)
        for para in _body(i).split("\n\n"):
            document.add_paragraph(para)
        document.save(str(folder / f"{i:05d}.docx"))
    return folder


def pdf_files(folder: Path, n: int, *, pages: int = 3) -> Path:
    from fpdf import FPDF

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        doc = FPDF()
        doc.set_title(_title(i))
        doc.set_font("helvetica", size=11)
        for _ in range(pages):
            doc.add_page()
            doc.multi_cell(0, 6, _body(i))
        doc.output(str(folder / f"{i:05d}.pdf"))
    return folder


def nitf_files(folder: Path, n: int) -> Path:
    from xml.sax.saxutils import escape

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        paras = "".join(f"<p>{escape(p)}</p>" for p in _body(i).split("\n\n"))
        (folder / f"{i:05d}.nitf").write_text(
            f'<?xml version="1.0"?><nitf><head><title>{escape(_title(i))}</title>'
            f'<docdata><date.issue norm="20240304T100000"/></docdata></head><body>'
            f"<body.head><hedline><hl1>{escape(_title(i))}</hl1></hedline></body.head>"
            f"<body.content>{paras}</body.content></body></nitf>",
            encoding="utf-8",
        )
    return folder


def wxr(path: Path, n: int) -> Path:
    from xml.sax.saxutils import escape

    items = "".join(
        f"<item><title>{escape(_title(i))}</title><link>https://courier.example/?p={i}</link>"
        f"<wp:post_id>{i}</wp:post_id><wp:post_type>post</wp:post_type>"
        f"<wp:status>publish</wp:status><wp:post_date>2024-03-04 10:00:00</wp:post_date>"
        f"<content:encoded><![CDATA[{''.join(f'<p>{p}</p>' for p in _body(i).split(chr(10) * 2))}"
        f"]]></content:encoded></item>"
        for i in range(n)
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>Courier</title>'
        f"<wp:wxr_version>1.2</wp:wxr_version>{items}</channel></rss>",
        encoding="utf-8",
    )
    return path


def warc(path: Path, n: int) -> Path:
    """A gzip WARC of `n` HTML page captures, each with its request record."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for i in range(n):
            url = f"https://courier.example/news/{i}"
            paras = "".join(f"<p>{p}</p>" for p in _body(i).split("\n\n"))
            page = (
                f"<html><head><title>{_title(i)}</title></head><body><article>"
                f"<h1>{_title(i)}</h1>{paras}</article></body></html>"
            ).encode()
            http = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(page), http_headers=http
                )
            )
            request = io.BytesIO(f"GET /news/{i} HTTP/1.1\r\n\r\n".encode())
            writer.write_record(writer.create_warc_record(url, "request", payload=request))
    return path


# --------------------------------------------------------------------------- reading


def read(target: Path) -> dict[str, Any]:
    """In the child: read `target` (a file or folder) as ingest does, counting records."""
    from newsdesk.core.errors import IngestError
    from newsdesk.ingest.loaders import discover, load_parts

    started = time.perf_counter()
    sources, errors = discover([str(target)])
    records = 0
    failed = len(errors)
    for source in sources:
        try:
            for articles, bad in load_parts(source):
                records += len(articles)
                failed += len(bad)
        except IngestError:
            failed += 1
    return {"records": records, "errors": failed, "seconds": time.perf_counter() - started}


def measure(target: Path) -> dict[str, Any]:
    done = run_process([sys.executable, "-m", "bench.formats_bench", "--read", str(target)])
    done.check()
    got = done.json()
    size = sum(p.stat().st_size for p in ([target] if target.is_file() else target.rglob("*")))
    return {
        "records": got["records"],
        "errors": got["errors"],
        "megabytes": round(size / 1e6, 1),
        "read_s": round(got["seconds"], 2),
        "records_per_s": rate(got["records"], got["seconds"]),
        "megabytes_per_s": rate(size / 1e6, got["seconds"]),
        "peak_rss_mb": round(done.peak_rss_mb, 1),
    }


def measure_ingest(target: Path, index: Path) -> dict[str, Any]:
    """`newsdesk ingest TARGET` (first phase only) in a fresh index: the whole path, model
    and embedding included, with its peak memory."""
    done = run_process(
        [*newsdesk_cmd(), "ingest", str(target), "--index", str(index), "--json", "--no-enrich"],
        env=bench_env(),
    ).check(ok=(0, 4))  # 4: a page skipped (each reported)
    report = done.json()
    shutil.rmtree(index, ignore_errors=True)
    return {
        "articles": report["articles_added"],
        "chunks": report["chunks_added"],
        "wall_s": round(done.wall_s, 2),
        "articles_per_s": rate(report["articles_added"], report["seconds"]),
        "chunks_per_s": rate(report["chunks_added"], report["seconds"]),
        "peak_rss_mb": round(done.peak_rss_mb, 1),
    }


Maker = Callable[[Path, int], Path]
FORMATS: dict[str, tuple[str, Maker]] = {
    "jsonl": ("export.jsonl", jsonl),
    "csv": ("export.csv", csv_file),
    "rss": ("feed.rss", rss),
    "wxr": ("wordpress.xml", wxr),
    "warc": ("crawl.warc.gz", warc),
    "docx": ("word", docx_files),
    "pdf": ("pdf", pdf_files),
    "nitf": ("nitf", nitf_files),
}


def run(workdir: Path, *, small: bool) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    per_format: dict[str, Any] = {}
    counts = {"docx": 50, "pdf": 30, "nitf": 200} if small else {"docx": 500, "pdf": 200}
    default = 300 if small else 2000
    for name, (target, make) in FORMATS.items():
        path = make(workdir / target, counts.get(name, default))
        per_format[name] = measure(path)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    streaming: dict[str, Any] = {}
    sizes = (20, 60) if small else (200, 2000)  # megabytes
    for mb in sizes:
        path, _ = jsonl_of_size(workdir / f"big-{mb}.jsonl", mb * 1_000_000)
        streaming[f"jsonl_{mb}mb"] = measure(path)
        path.unlink()
    for mb in (30,) if small else (30, 200):
        path, _ = rss_of_size(workdir / f"big-{mb}.rss", mb * 1_000_000)
        streaming[f"rss_{mb}mb"] = measure(path)
        path.unlink()
    for n in (300, 1000) if small else (1000, 10_000):
        if n == counts.get("warc", default):  # the archive the formats table just read
            streaming[f"warc_{n}_pages"] = per_format["warc"]
            continue
        path = warc(workdir / f"crawl-{n}.warc.gz", n)
        streaming[f"warc_{n}_pages"] = measure(path)
        path.unlink()
    ingested: dict[str, Any] = {}
    for n in (50, 150) if small else (1000, 10_000):  # embedding is the cost here
        path = warc(workdir / f"crawl-{n}.warc.gz", n)
        ingested[f"warc_{n}_pages"] = measure_ingest(path, workdir / "ingest-index")
        path.unlink()
    return {"formats": per_format, "streaming": streaming, "ingest": ingested}


def table(result: dict[str, Any]) -> str:
    rows = [
        "| input | records | MB | records/s | MB/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for group in ("formats", "streaming"):
        for name, r in result[group].items():
            rows.append(
                f"| {name} | {r['records']:,} | {r['megabytes']} | {r['records_per_s']} | "
                f"{r['megabytes_per_s']} | {r['peak_rss_mb']} |"
            )
    rows += [
        "",
        "| ingest (first phase) | articles | chunks | wall s | chunks/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in result.get("ingest", {}).items():
        rows.append(
            f"| {name} | {r['articles']:,} | {r['chunks']:,} | {r['wall_s']} | "
            f"{r['chunks_per_s']} | {r['peak_rss_mb']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.formats_bench", description=__doc__)
    parser.add_argument("--small", action="store_true", help="small samples (a few minutes)")
    parser.add_argument("--workdir", type=Path, default=None, help="where samples are written")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--read", type=Path, default=None, help=argparse.SUPPRESS)  # the child
    args = parser.parse_args(argv)
    if args.read is not None:
        print(json.dumps(read(args.read)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="newsdesk-formats-"))
    try:
        result = run(workdir, small=args.small)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
