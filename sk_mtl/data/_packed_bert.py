"""An unpadded ("packed") forward pass of a frozen BERT sentence model, optionally in bfloat16.

:class:`TextEmbedder`'s ``"packed"`` backends run a sentence-transformers model made of a BERT
``Transformer``, a mean ``Pooling`` and an optional ``Normalize`` module (all-MiniLM-L6-v2 is
one) with the same weights and the same arithmetic as ``SentenceTransformer.encode``, but on
the tokens of a batch laid end to end instead of a padded ``(texts, longest)`` block:

- every linear layer (query, key and value fused into one) sees only real tokens, so no time
  goes to padding, whatever the mix of lengths;
- attention runs once per group of texts of the same length, with no mask (softmax in
  float32);
- mean pooling sums each text's tokens.

In float32 the embeddings equal ``encode``'s up to float rounding (1 - cosine < 1e-6). In
bfloat16 (weights and activations; pooling and softmax in float32) the linear layers run
some 2.3-2.5x faster on a CPU with bfloat16 instructions (AVX512-BF16 or AMX), at
1 - cosine of at most 1.3e-4 against ``encode``'s float32 embeddings on the clothing
reviews (``benchmarks/bench_embeddings.py``).

Pure torch: no sentence-transformers import here; :func:`folder_support` reads a saved model's
JSON files and :func:`model_support` inspects a loaded one.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PackedBert", "folder_support", "model_support", "native_bfloat16"]

_ACTIVATIONS = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "relu": None}


def native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 matrix instructions (AVX512-BF16 or AMX), where
    bfloat16 linear layers beat float32 ones; False when torch cannot tell."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except Exception:  # private torch API: absent or changed
        return False


def _config_support(config: dict) -> str | None:
    if config.get("model_type") != "bert":
        return f"its transformer is a {config.get('model_type')!r} model, not 'bert'"
    if config.get("position_embedding_type", "absolute") != "absolute":
        return (f"its position embeddings are {config.get('position_embedding_type')!r}, not "
                f"'absolute'")
    if config.get("is_decoder") or config.get("add_cross_attention"):
        return "its transformer is a decoder"
    act = config.get("hidden_act", "gelu")
    if act not in _ACTIVATIONS:
        return f"its activation is {act!r}, not one of {sorted(_ACTIVATIONS)}"
    return None


def folder_support(folder: str | Path) -> str | None:
    """Why the saved sentence-transformers model in ``folder`` cannot run packed, or None.

    Reads ``modules.json``, the pooling module's ``config.json``, the transformer's
    ``config.json`` and ``config_sentence_transformers.json`` (a default prompt changes the
    texts); loads nothing.
    """
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return f"its modules are {kinds}, not Transformer, Pooling (mean) [, Normalize]"
        transformer = folder / modules[0].get("path", "")
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text())
        config = json.loads((transformer / "config.json").read_text())
        st_config_path = folder / "config_sentence_transformers.json"
        st_config = json.loads(st_config_path.read_text()) if st_config_path.is_file() else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"its configuration could not be read ({type(exc).__name__}: {exc})"
    mode = pooling.get("pooling_mode")
    if mode is None:  # the pre-6.0 form: one boolean per mode
        mode = [k[len("pooling_mode_"):-len("_tokens")] if k.endswith("_tokens")
                else k[len("pooling_mode_"):] for k, v in pooling.items()
                if k.startswith("pooling_mode_") and v]
    if mode not in ("mean", ["mean"]):
        return f"its pooling is {mode!r}, not 'mean'"
    if st_config.get("default_prompt_name"):
        return f"it has a default prompt ({st_config['default_prompt_name']!r})"
    return _config_support(config)


def model_support(model) -> str | None:
    """Why a loaded ``SentenceTransformer`` cannot run packed, or None (see the module doc)."""
    try:
        modules = list(model)
    except TypeError:
        return f"it is a {type(model).__name__}, not a SentenceTransformer"
    kinds = [type(m).__name__ for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"its modules are {kinds}, not Transformer, Pooling (mean) [, Normalize]"
    mode = getattr(modules[1], "pooling_mode", None)
    if mode is None:  # sentence-transformers < 6
        mode = "mean" if getattr(modules[1], "pooling_mode_mean_tokens", False) and not any(
            getattr(modules[1], f"pooling_mode_{m}", False)
            for m in ("cls_token", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens",
                      "lasttoken")) else "other"
    if mode not in ("mean", ("mean",), ["mean"]):
        return f"its pooling is {mode!r}, not 'mean'"
    if getattr(model, "default_prompt_name", None):
        return f"it has a default prompt ({model.default_prompt_name!r})"
    if getattr(model, "truncate_dim", None):
        return f"it truncates its embeddings (truncate_dim={model.truncate_dim})"
    bert = getattr(modules[0], "auto_model", None)
    config = getattr(bert, "config", None)
    if config is None:
        return "its transformer has no auto_model.config"
    return _config_support(config.to_dict())


def _fused_linear_works(approximate: str | None) -> bool:
    """Whether ``torch.ops.mkldnn._linear_pointwise`` (oneDNN's linear with a fused
    activation, which torch's own compiler uses) runs here and agrees with ``F.linear``: on
    bfloat16 it is some 5% faster, and fusing the GELU saves a pass over the widest
    activations. It is not public API, hence the check (on a small random layer); where it
    fails, the plain ``F.linear`` path runs."""
    try:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(5, 16, generator=generator).to(torch.bfloat16)
        w = torch.randn(8, 16, generator=generator).to(torch.bfloat16)
        b = torch.randn(8, generator=generator).to(torch.bfloat16)
        op = torch.ops.mkldnn._linear_pointwise
        pairs = [(op(x, w, b, "none", [], ""), F.linear(x, w, b))]
        if approximate is None:
            pairs.append((op(x, w, b, "relu", [], ""), F.relu(F.linear(x, w, b))))
        else:
            pairs.append((op(x, w, b, "gelu", [], approximate),
                          F.gelu(F.linear(x, w, b), approximate=approximate)))
        return all(a.shape == e.shape and torch.allclose(a.float(), e.float(), rtol=0.02,
                                                          atol=0.05) for a, e in pairs)
    except Exception:  # absent, renamed or not built with oneDNN
        return False


class PackedBert(nn.Module):
    """Mean-pooled BERT sentence embeddings of unpadded token sequences.

    Parameters
    ----------
    bert : transformers.BertModel
        The model whose weights are copied (in ``dtype``; the original is left as it is).
    dtype : torch.dtype, default=torch.float32
        Of the weights and activations; pooling and the output are float32.
    normalize : bool, default=False
        Scale each output row to unit L2 norm (a ``Normalize`` module after the pooling).
    """

    def __init__(self, bert: nn.Module, dtype: torch.dtype = torch.float32,
                 normalize: bool = False) -> None:
        super().__init__()
        config = bert.config
        reason = _config_support(config.to_dict())
        if reason is not None:
            raise ValueError(f"PackedBert cannot run this model: {reason}.")
        self.n_heads = int(config.num_attention_heads)
        self.eps = float(config.layer_norm_eps)
        self.approximate = _ACTIVATIONS[config.hidden_act]
        self.normalize = bool(normalize)
        self.dtype = dtype
        state = {k: v.detach() for k, v in bert.state_dict().items()}

        def take(name: str) -> torch.Tensor:
            return state[name].to(dtype=dtype).contiguous()

        self.register_buffer("word", take("embeddings.word_embeddings.weight"))
        self.register_buffer("position", take("embeddings.position_embeddings.weight"))
        self.register_buffer("token_type", take("embeddings.token_type_embeddings.weight"))
        self.register_buffer("ln_weight", take("embeddings.LayerNorm.weight"))
        self.register_buffer("ln_bias", take("embeddings.LayerNorm.bias"))
        self.layers = nn.ModuleList()
        for i in range(int(config.num_hidden_layers)):
            prefix = f"encoder.layer.{i}."
            layer = nn.Module()
            qkv = ("query", "key", "value")
            layer.register_buffer("qkv_weight", torch.cat(
                [state[f"{prefix}attention.self.{n}.weight"] for n in qkv]).to(dtype).contiguous())
            layer.register_buffer("qkv_bias", torch.cat(
                [state[f"{prefix}attention.self.{n}.bias"] for n in qkv]).to(dtype).contiguous())
            for name, source in (("out", "attention.output.dense"),
                                 ("up", "intermediate.dense"), ("down", "output.dense"),
                                 ("ln1", "attention.output.LayerNorm"),
                                 ("ln2", "output.LayerNorm")):
                layer.register_buffer(f"{name}_weight", take(f"{prefix}{source}.weight"))
                layer.register_buffer(f"{name}_bias", take(f"{prefix}{source}.bias"))
            self.layers.append(layer)
        self.requires_grad_(False)
        self.eval()
        self.fused = dtype == torch.bfloat16 and _fused_linear_works(self.approximate)

    def _linear(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                activation: bool = False) -> torch.Tensor:
        """``x @ weight.T + bias``, then the activation if asked; in bfloat16 through
        oneDNN's linear with the activation fused where that works (see
        :func:`_fused_linear_works`)."""
        if self.fused:
            if not activation:
                return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
            if self.approximate is None:
                return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu", [], "")
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "gelu", [],
                                                      self.approximate)
        out = F.linear(x, weight, bias)
        if not activation:
            return out
        if self.approximate is None:
            return F.relu(out)
        return F.gelu(out, approximate=self.approximate)

    @property
    def dim(self) -> int:
        return int(self.word.shape[1])

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor,
                lengths: list[int]) -> torch.Tensor:
        """Embeddings ``(len(lengths), dim)`` of texts whose token ids lie end to end in the
        1-d ``input_ids`` (``lengths[i]`` tokens each, no padding). Texts of equal length
        should be next to each other: attention runs once per run of equal lengths."""
        width = self.dim
        heads = self.n_heads
        head_dim = width // heads
        scale = head_dim ** -0.5
        positions = torch.cat([torch.arange(n, device=input_ids.device) for n in lengths])
        x = self.word[input_ids] + self.position[positions] + self.token_type[token_type_ids]
        x = F.layer_norm(x, (width,), self.ln_weight, self.ln_bias, self.eps)
        runs = []  # (first token, texts, length) per run of equal lengths
        start = i = 0
        while i < len(lengths):
            j = i
            while j < len(lengths) and lengths[j] == lengths[i]:
                j += 1
            runs.append((start, j - i, lengths[i]))
            start += (j - i) * lengths[i]
            i = j
        for layer in self.layers:
            qkv = self._linear(x, layer.qkv_weight, layer.qkv_bias)
            context = torch.empty_like(x)
            for first, count, length in runs:
                # (count, 3 * heads, length, head_dim), contiguous: batched products on
                # contiguous blocks beat scaled_dot_product_attention's kernel on strided
                # ones by some 2x at these sizes (head_dim 32, tens of tokens).
                block = qkv[first:first + count * length].view(count, length, 3 * heads,
                                                                  head_dim)
                block = block.transpose(1, 2).contiguous()
                q, k, v = block[:, :heads], block[:, heads:2 * heads], block[:, 2 * heads:]
                scores = torch.matmul(q, k.transpose(-1, -2)).float().mul_(scale)
                out = torch.matmul(torch.softmax(scores, -1).to(v.dtype), v)
                context[first:first + count * length].view(count, length, heads, head_dim) \
                    .copy_(out.transpose(1, 2))
            attended = self._linear(context, layer.out_weight, layer.out_bias)
            x = F.layer_norm(attended + x, (width,), layer.ln1_weight, layer.ln1_bias, self.eps)
            hidden = self._linear(x, layer.up_weight, layer.up_bias, activation=True)
            hidden = self._linear(hidden, layer.down_weight, layer.down_bias)
            x = F.layer_norm(hidden + x, (width,), layer.ln2_weight, layer.ln2_bias, self.eps)
        counts = torch.tensor(lengths, device=x.device)
        segment = torch.repeat_interleave(torch.arange(len(lengths), device=x.device), counts)
        pooled = torch.zeros(len(lengths), width, dtype=torch.float32, device=x.device)
        pooled.index_add_(0, segment, x.float())
        pooled /= counts.to(torch.float32)[:, None]
        if self.normalize:
            pooled = F.normalize(pooled, dim=1)
        return pooled
