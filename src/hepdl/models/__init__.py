"""Models: plain ``nn.Module`` factories registered by name.

>>> from hepdl.models import create_model, list_models
>>> net = create_model("mlp", in_features=9, hidden=[64, 64], activation="relu")

Each model declares ``consumes``: the representation arrays it takes as input.

Backbone and head
-----------------
Every neural model is split the way timm splits its models, so that a classifier, a
regressor and an encoder share one backbone:

- ``num_features``: the width D of the backbone's embedding;
- ``forward_features(...)``: the backbone, the model's inputs (the same arguments as
  ``forward``) -> embedding (B, D), with no output activation;
- ``forward_head(embedding)``: the final linear layer, (B, D) -> logits (B, out_features),
  with no activation (``probabilities`` applies the model's ``output``);
- ``forward(...) == forward_head(forward_features(...))`` exactly (the same operations);
- ``reset_head(out_features, output="linear")``: a fresh final linear layer and output
  activation (timm's ``reset_classifier``); the backbone's parameters are kept, and the
  state_dict keys stay those of the model as built.

The head is always the single output layer; every hidden fully connected layer belongs to
the backbone. Per family (the submodule names are the state_dict's, unchanged):

- ``mlp``: backbone the hidden stack ``layers[:-1]``, D = the last ``hidden`` width
  (``in_features`` without hidden layers); head ``layers[-1]``. A reset head is
  initialised by the model's ``init`` scheme.
- ``lenet``, ``vgg``, ``resnet``, ``jet_cnn``: backbone the convolutional ``body``
  (ResNet's includes the global average pool, JetCNN's the LRN, flatten and dropout),
  flatten and the hidden layers of the ``mlp`` named ``head``; D = the last ``hidden``
  width (LeNet 84, VGG 256, JetCNN ``hidden``), or the flattened body without hidden
  layers (ResNet's default: the last stage's channel width). Head ``head.layers[-1]``.
- ``rnn``, ``lstm``, ``gru``: backbone the masked input normalisation, the recurrent
  layers (final states of the last layer, both directions) and the hidden layers of the
  ``mlp`` ``head``; D = the last ``hidden`` width (directions * hidden_size without).
  Head ``head.layers[-1]``.
- ``recursive``: backbone the root embedding ``embed`` and the hidden layers of the
  ``mlp`` ``head``; D = the last ``hidden`` width (hidden_size without). Head
  ``head.layers[-1]``.
- ``pfn``, ``efn``: backbone Phi, the (energy-weighted) masked sum and the hidden layers of
  F; D = the last ``f_sizes`` width (the latent ``phi_sizes[-1]`` without). Head the
  linear layer ``head``.
- ``particlenet``: backbone the input BatchNorm, the EdgeConv blocks, the fusion, the
  masked mean over particles and the FC layers ``head[:-1]``; D = the last ``fc_sizes``
  width (else the fusion width, else the last EdgeConv width). Head ``head[-1]``.
- ``part``: backbone the particle and pair embeddings, the particle- and class-attention
  blocks, the class token's LayerNorm ``norm`` and the FC layers ``head[:-1]``; D = the
  last ``fc_sizes`` width (the model width ``embed_dims[-1]`` without, the paper's
  layout). Head ``head[-1]``.

>>> net = create_model("mlp", in_features=9, hidden=[64, 32])
>>> net.num_features
32
>>> net.reset_head(6)  # the same backbone, now a regressor with 6 linear outputs
"""

from __future__ import annotations

from hepdl.models._registry import (
    MODELS,
    check_model_options,
    create_model,
    list_models,
    model_options,
    register_model,
    registered_models,
)

__all__ = [
    "MODELS",
    "check_model_options",
    "create_model",
    "list_models",
    "model_options",
    "register_model",
    "registered_models",
]
