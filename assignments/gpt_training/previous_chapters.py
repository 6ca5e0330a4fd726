"""지난 강의(Lec 27)에서 만든 모듈: GPT 블록이 이 멀티 헤드 어텐션을 가져다 쓴다."""
import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    """인과 마스크를 쓰는 멀티 헤드 셀프 어텐션 (헤드를 한 번의 행렬 곱으로 계산)."""

    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        assert d_out % num_heads == 0, "d_out은 num_heads로 나누어떨어져야 합니다"
        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, num_tokens, _ = x.shape

        def split_heads(projection):
            return projection(x).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)

        queries, keys, values = split_heads(self.W_query), split_heads(self.W_key), split_heads(self.W_value)
        scores = queries @ keys.transpose(2, 3)
        scores = scores.masked_fill(self.mask.bool()[:num_tokens, :num_tokens], -torch.inf)
        weights = self.dropout(torch.softmax(scores / self.head_dim ** 0.5, dim=-1))
        context = (weights @ values).transpose(1, 2).reshape(b, num_tokens, self.d_out)
        return self.out_proj(context)
