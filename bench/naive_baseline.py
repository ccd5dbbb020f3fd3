"""The naive baseline: what a llama-index tutorial (or PrivateGPT) does with the same folder.

`python -m bench.naive_baseline FOLDER --chroma DIR` loads every file with SimpleDirectoryReader,
splits with SentenceSplitter(chunk_size=256, chunk_overlap=32), embeds with HuggingFaceEmbedding
on the same bundled model (library defaults otherwise) and stores into Chroma through
VectorStoreIndex.from_documents. Prints one JSON line with counts and seconds.

Needs the `bench` extra: llama-index-embeddings-huggingface, llama-index-vector-stores-chroma.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

CHUNK_SIZE = 256
CHUNK_OVERLAP = 32


def build(folder: str, chroma_dir: str) -> dict[str, float | int]:
    started = time.perf_counter()
    try:
        import chromadb
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore
    except ImportError as exc:
        raise SystemExit(
            f"the naive baseline needs {exc.name}: pip install llama-index-embeddings-huggingface "
            "llama-index-vector-stores-chroma"
        ) from exc

    from newsdesk.embedding import resolve_model_path

    docs = SimpleDirectoryReader(folder, recursive=True).load_data(show_progress=False)
    embed = HuggingFaceEmbedding(
        model_name=str(resolve_model_path("all-MiniLM-L6-v2")), device="cpu"
    )
    client = chromadb.PersistentClient(
        path=chroma_dir, settings=chromadb.Settings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection("naive")
    store = ChromaVectorStore(chroma_collection=collection)
    splitter = SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
        transformations=[splitter],
        show_progress=False,
    )
    return {
        "documents": len(docs),
        "chunks": int(collection.count()),
        "seconds": round(time.perf_counter() - started, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive_baseline")
    parser.add_argument("folder")
    parser.add_argument("--chroma", required=True, metavar="DIR")
    args = parser.parse_args(argv)
    print(json.dumps(build(args.folder, args.chroma)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
