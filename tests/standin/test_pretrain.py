"""The stand-in BERT's corpus cleaning and its pretraining loop (tiny configurations)."""

import json

import numpy as np
import pytest
import torch

from aniso.standin import corpus, pretrain


def test_cleaners():
    assert list(corpus._brown("The/at jury/nn said/vbd ``/`` no/at ''/'' ./.")) == [
        'The jury said " no ".'
    ]
    assert list(
        corpus._wikitext(" = Title = \n Homarus gammarus , known as the 5 @-@ 6 kg lobster . \n")
    ) == ["Homarus gammarus, known as the 5-6 kg lobster."]
    line = (
        "00005930 03 n 01 dwarf 0 001 @ 00004475 n 0000 | "
        "a plant or animal that is atypically small  "
    )
    assert list(corpus._wordnet(line)) == ["dwarf: a plant or animal that is atypically small"]
    assert list(corpus._paragraphs("one two three\nfour five\n\nshort\n")) == [
        "one two three four five"
    ]
    assert corpus.is_heldout("x") == corpus.is_heldout("x")  # deterministic split


def _tiny_cfg(tmp_path, out):
    c = tmp_path / "corpus"
    c.mkdir(exist_ok=True)
    text = "\n".join(
        f"the cat number {i} sat on the mat and looked at the dog {i % 7} ." for i in range(60)
    )
    (c / "train.txt").write_text(text + "\n")
    (c / "heldout.txt").write_text("the dog sat on the cat .\nthe mat looked at the dog .\n" * 3)
    return pretrain.PretrainConfig(
        corpus=str(c),
        out=str(tmp_path / out),
        hidden_size=16,
        num_layers=1,
        num_heads=2,
        intermediate_size=32,
        max_len=16,
        batch_size=4,
        warmup_steps=2,
        total_steps=12,
        ckpt_every=3,
        log_every=4,
        eval_every=4,
        lr=1e-3,
    )


def test_masking_rates_and_specials():
    tok = pretrain.load_tokenizer(pretrain.PretrainConfig())
    ids = torch.randint(1000, 20000, (64, 128))
    ids[:, 0], ids[:, -1] = tok.cls_token_id, tok.sep_token_id
    inputs, chosen, labels = pretrain.mask_tokens(ids, tok, 0.15, torch.Generator().manual_seed(0))
    assert not chosen[:, 0].any() and not chosen[:, -1].any()
    assert abs(chosen.float().mean().item() - 0.15 * 126 / 128) < 0.01
    assert torch.equal(labels, ids[chosen])
    masked = (inputs[chosen] == tok.mask_token_id).float().mean().item()
    assert 0.75 < masked < 0.85


def test_resume_gives_identical_weights(tmp_path):
    full = pretrain.train(_tiny_cfg(tmp_path, "full"), progress=False)
    cfg = _tiny_cfg(tmp_path, "interrupted")
    pretrain.train(cfg, stop_after=7, progress=False)  # "killed" after step 7; last checkpoint at 6
    resumed = pretrain.train(cfg, progress=False)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    log = [json.loads(ln) for ln in open(tmp_path / "full" / "log.jsonl")]
    assert [r["step"] for r in log] == [4, 8, 12] and "heldout_acc" in log[-1]
    assert np.isfinite(log[-1]["loss"])


def test_export_loads_as_encoder(tmp_path):
    from aniso.encoders.models import load_encoder

    cfg = _tiny_cfg(tmp_path, "run")
    pretrain.train(cfg, progress=False)
    (tmp_path / "corpus" / "manifest.json").write_text(
        json.dumps(
            {
                "packages": [],
                "shared": {},
                "sources": {"toy": 1},
                "train.txt": {"sha256": "x", "words": 1},
                "heldout.txt": {"sha256": "y", "words": 1},
            }
        )
    )
    (tmp_path / "run" / "NOTES.md").write_text("\n## Notes on this run\n")
    dest = tmp_path / "export"
    pretrain.export(cfg.out, str(dest))
    enc = load_encoder(str(dest))
    assert enc.model.dtype == torch.float32
    assert enc.encode(["a cat"], pooling="mean", cache=False).shape == (1, 16)
    card = (dest / "MODEL_CARD.md").read_text()
    assert "masked-token accuracy" in card and card.endswith("## Notes on this run\n")
    assert "initialised as in BERT" in card and "--position-init" not in card


def test_bf16_autocast_trains_float32_weights_and_resumes_exactly(tmp_path):
    from dataclasses import replace

    cfg = replace(_tiny_cfg(tmp_path, "bf16"), bf16=True)
    full = pretrain.train(cfg, progress=False)
    assert all(p.dtype == torch.float32 for p in full.parameters())
    cfg2 = replace(cfg, out=str(tmp_path / "bf16-interrupted"))
    pretrain.train(cfg2, stop_after=7, progress=False)
    resumed = pretrain.train(cfg2, progress=False)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    fp32 = pretrain.train(
        _tiny_cfg(tmp_path, "fp32"), progress=False
    )  # bf16 rounding changes the weights
    assert not torch.equal(
        full.bert.embeddings.word_embeddings.weight, fp32.bert.embeddings.word_embeddings.weight
    )


def test_cli_parses_boolean_flags(monkeypatch):
    seen = []
    monkeypatch.setattr(pretrain, "train", seen.append)
    pretrain.main(["--bf16", "--total-steps", "5"])
    pretrain.main(["--no-bf16"])
    assert (seen[0].bf16, seen[0].total_steps, seen[1].bf16) == (True, 5, False)


def test_blocks_from_paragraphs_packs_like_the_file_reader(tmp_path):
    tok = pretrain.load_tokenizer(pretrain.PretrainConfig())
    paras = ["the cat sat on the mat .", "a dog barked at the postman twice .", "rain again ."]
    (tmp_path / "t.txt").write_text("\n".join(paras) + "\n\n")
    blocks = pretrain.blocks_from_paragraphs(paras, tok, 8)
    np.testing.assert_array_equal(blocks, pretrain.make_blocks(tmp_path / "t.txt", tok, 8))
    flat = [
        i for p in paras for i in tok(p, add_special_tokens=False)["input_ids"] + [tok.sep_token_id]
    ]
    assert blocks.shape == (len(flat) // 6, 8)
    assert (blocks[:, 0] == tok.cls_token_id).all() and (blocks[:, -1] == tok.sep_token_id).all()
    np.testing.assert_array_equal(blocks[:, 1:-1].ravel(), flat[: blocks.shape[0] * 6])


def test_heldout_masks_are_fixed_and_evaluate_scores_them(tmp_path):
    tok = pretrain.load_tokenizer(pretrain.PretrainConfig())
    blocks = pretrain.blocks_from_paragraphs(["the cat sat on the mat ."] * 30, tok, 16)
    a = [m for m in pretrain.heldout_masks(blocks, tok, batch=4)]
    b = [m for m in pretrain.heldout_masks(blocks, tok, batch=4)]
    assert len(a) == -(-len(blocks) // 4)
    for (i1, c1, l1), (i2, c2, l2) in zip(a, b):
        assert torch.equal(i1, i2) and torch.equal(c1, c2) and torch.equal(l1, l2)
    cfg = _tiny_cfg(tmp_path, "run")
    model = pretrain.build_model(cfg, len(tok))
    model.train()
    loss, acc = pretrain.evaluate(model, blocks, tok, cfg, batch=4)
    assert model.training  # evaluate restores the mode it found
    n = sum(len(lab) for _, _, lab in a)
    with torch.no_grad():
        model.eval()
        correct = sum(pretrain.mlm_step_loss(model, i, c, lab)[1] for i, c, lab in a)
    assert acc == correct / n and np.isfinite(loss)


def test_shared_split_is_the_corpus_split_of_the_shared_sources(data_dir):
    train, held = corpus.shared_split(data_dir)
    assert held and train and not set(train) & set(held)
    assert all(corpus.is_heldout(p) for p in held) and not any(
        corpus.is_heldout(p) for p in train[:2000]
    )
    seen = [p for _, ps in corpus.iter_shared_sources(data_dir) for p in ps]
    assert len(train) + len(held) == len(set(seen))  # every distinct paragraph, once
    assert train[0] == next(p for p in seen if not corpus.is_heldout(p))  # in source order


def test_sinusoidal_positions_match_the_transformer_formula():
    pe = pretrain.sinusoidal_positions(6, 4)
    i = np.arange(6)[:, None]
    ref = np.concatenate(
        [
            np.sin(i / 10000 ** (0 / 4)),
            np.cos(i / 10000 ** (0 / 4)),
            np.sin(i / 10000 ** (2 / 4)),
            np.cos(i / 10000 ** (2 / 4)),
        ],
        axis=1,
    )[:, [0, 1, 2, 3]]
    np.testing.assert_allclose(pe.numpy(), np.sqrt(2) * ref, rtol=1e-6, atol=1e-7)
    assert pe.pow(2).mean().sqrt().item() == pytest.approx(1.0, abs=0.02)
    assert pretrain.sinusoidal_positions(3, 5).shape == (3, 5)  # odd widths work


def test_frozen_sinusoidal_positions_stay_fixed_and_resume_exactly(tmp_path):
    from dataclasses import replace

    cfg = replace(
        _tiny_cfg(tmp_path, "full"),
        position_init="sinusoidal",
        position_scale=0.05,
        freeze_positions=True,
    )
    start = (
        pretrain.build_model(cfg, 30522).bert.embeddings.position_embeddings.weight.detach().clone()
    )
    assert start.pow(2).mean().sqrt().item() == pytest.approx(0.05, rel=0.02)
    full = pretrain.train(cfg, progress=False)
    assert torch.equal(full.bert.embeddings.position_embeddings.weight, start)
    cut = replace(cfg, out=str(tmp_path / "cut"))
    pretrain.train(cut, stop_after=7, progress=False)
    resumed = pretrain.train(cut, progress=False)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    learned = pretrain.train(
        replace(cfg, out=str(tmp_path / "learned"), freeze_positions=False), progress=False
    )
    assert not torch.equal(learned.bert.embeddings.position_embeddings.weight, start)
    with pytest.raises(ValueError, match="position_init"):
        pretrain.build_model(replace(cfg, position_init="rotary"), 100)


def test_cli_parses_position_options(monkeypatch):
    seen = []
    monkeypatch.setattr(pretrain, "train", seen.append)
    pretrain.main(
        ["--position-init", "sinusoidal", "--position-scale", "0.05", "--freeze-positions"]
    )
    assert (seen[0].position_init, seen[0].position_scale, seen[0].freeze_positions) == (
        "sinusoidal",
        0.05,
        True,
    )


def test_init_from_starts_from_the_earlier_run_and_export_carries_both_stages(tmp_path):
    from dataclasses import replace

    one = _tiny_cfg(tmp_path, "one")
    first = pretrain.train(one, progress=False)
    two = replace(
        one,
        out=str(tmp_path / "two"),
        init_from=one.out,
        position_init="sinusoidal",
        position_scale=0.05,
        freeze_positions=True,
        total_steps=8,
    )
    start = pretrain.build_model(two, 30522)
    sines = start.bert.embeddings.position_embeddings.weight.detach().clone()
    pretrain._init_from_run(start, two)
    for k, v in start.state_dict().items():
        expected = (
            sines if k == "bert.embeddings.position_embeddings.weight" else first.state_dict()[k]
        )
        assert torch.equal(v, expected), k
    full = pretrain.train(two, progress=False)
    cut = replace(two, out=str(tmp_path / "cut"))  # an interrupted second stage resumes exactly
    pretrain.train(cut, stop_after=5, progress=False)
    resumed = pretrain.train(cut, progress=False)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k

    (tmp_path / "corpus" / "manifest.json").write_text(
        json.dumps(
            {
                "packages": [],
                "shared": {},
                "sources": {"toy": 1},
                "train.txt": {"sha256": "x", "words": 1},
                "heldout.txt": {"sha256": "y", "words": 1},
            }
        )
    )
    (tmp_path / "one" / "NOTES.md").write_text("\n## Notes on this run\nfirst notes\n")
    (tmp_path / "two" / "NOTES.md").write_text("\n## Notes on this run\nsecond notes\n")
    dest = tmp_path / "export"
    pretrain.export(two.out, str(dest))
    log = [json.loads(ln) for ln in open(dest / "training_log.jsonl")]
    assert [(r["step"], r["stage"]) for r in log] == [(4, 1), (8, 1), (12, 1), (16, 2), (20, 2)]
    stages = json.loads((dest / "pretraining_stages.json").read_text())
    assert [(s["steps"], s["position_init"]) for s in stages] == [(12, "random"), (8, "sinusoidal")]
    card = (dest / "MODEL_CARD.md").read_text()
    assert "| steps | 20 (stage 1: 12; stage 2: 8) |" in card
    assert f"--out {two.out} --init-from {one.out}" in card and card.endswith(
        "\n## Notes on stage 1\nfirst notes\n\n## Notes on stage 2\nsecond notes\n"
    )
    with pytest.raises(ValueError, match="different architecture"):
        pretrain._init_from_run(pretrain.build_model(replace(two, hidden_size=32), 30522), two)
