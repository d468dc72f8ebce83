"""Docstring parts of the estimators: one entry per parameter, defaults from the tables.

Each parameter's entry is its type and description; the default shown is read from the
declaration table the estimator's ``__init__`` is made from (:mod:`._params`), so the two
cannot disagree. Descriptions are templates with named placeholders (``{infer}``: how task
kinds are inferred; ``{dropout_where}``, ``{threads_note}``) that each estimator fills.
"""

from __future__ import annotations

__all__ = ["FUSION_PARAMETERS", "FUSION_TEXT", "PARAMETERS", "TABLE_TEXT", "parameters_doc"]

#: Every parameter of the one-table estimators (and the shared ones): (type, description).
PARAMETERS: dict[str, tuple[str, str]] = {
    'tasks': (
        'dict of str to str or Task',
        """
        Kind of each task, keyed by task name: ``"binary"``, ``"multiclass"``,
        ``"multilabel"``, ``"regression"``, or a :class:`sk_mtl.tasks.Task` object (cloned at
        fit). Tasks left out are inferred from ``y``{infer}. Task names are a DataFrame's
        column names, a named Series' name, ``"y"`` for another 1-D ``y``, and ``"y0"``,
        ``"y1"``, ... for the columns of a 2-D array.""",
    ),
    'task_weights': (
        'dict of str to float',
        """
        Weight ``w_t`` of each task's loss in the objective; missing tasks weigh 1.0.
        ``set_params(task_weights__<task>=w)`` changes one entry, before or after fit (it
        takes effect at the next fit), so ``GridSearchCV`` can search it.""",
    ),
    'class_weight': (
        '"balanced", dict or None',
        """
        Weights of the classes in the losses of binary and multiclass tasks (regression
        and multilabel tasks take none). ``"balanced"`` weighs each class of every binary
        and multiclass task by ``n_labelled / (n_classes * count)`` over the labelled
        training rows, as scikit-learn does. A dict keyed by task names weighs tasks one by
        one, each with ``"balanced"``, a dict class -> weight (classes left out weigh 1) or
        ``None``: ``class_weight={{"fraud": "balanced"}}``;
        ``set_params(class_weight__<task>=...)`` sets one entry, so ``GridSearchCV`` can
        search it. A dict whose values are all numbers is scikit-learn's form, class ->
        weight, for the single classification task. A row's weight in a task's loss is its
        ``sample_weight`` times its class's weight; the loss stays a weighted mean. The
        validation rows are weighted the same way.""",
    ),
    'auxiliary_tasks': (
        'list of str',
        """
        Tasks (columns of ``y``) that are trained, and so shape the shared trunk, but are not
        returned by ``predict``/``predict_proba`` nor counted by ``score``. With one predicted
        task left, predictions are 1-D as for a single-output estimator.""",
    ),
    'weighting': (
        'str or Weighting',
        """
        How task losses become gradients: ``"static"`` (``sum_t w_t * L_t``),
        ``"uncertainty"``, ``"dwa"``, ``"gradnorm"``, ``"pcgrad"``, ``"mgda"`` (see
        :mod:`sk_mtl.weighting`), or a :class:`sk_mtl.weighting.Weighting` object whose
        hyper-parameters are searchable as ``weighting__<param>``.""",
    ),
    'hidden_dims': (
        'tuple of int{hidden_kind}',
        """
        Widths of the shared MLP trunk's hidden layers; ``()`` gives linear heads on the
        input.{hidden_auto}""",
    ),
    'activation': (
        'str or nn.Module class',
        """
        Non-linearity of the trunk (see :data:`sk_mtl.modules.ACTIVATIONS`).""",
    ),
    'dropout': (
        'float{dropout_kind}',
        """
        Dropout probability after each trunk layer{dropout_where}.{dropout_auto}""",
    ),
    'batch_norm': (
        'bool',
        """
        Whether to put ``BatchNorm1d`` before each trunk activation.""",
    ),
    'trunk': (
        'str, TrunkSpec, nn.Module or callable',
        """
        A shared trunk replacing the MLP: ``"mmoe"`` or a :class:`sk_mtl.trunks.MMoE`
        (multi-gate mixture of experts, searchable as ``trunk__n_experts`` etc.), an
        ``nn.Module`` mapping ``(n, n_features)`` to ``(n, width)`` (deep-copied at each
        fit), or a callable ``n_features -> nn.Module``. Its width is read from a forward
        pass on two rows, which also checks it before training. ``hidden_dims``,
        ``activation``, ``dropout`` and ``batch_norm`` are then ignored.""",
    ),
    'lambda_l1': (
        'float',
        """
        L1 penalty ``lambda_l1 * sum |W|`` on the weight matrices (not biases, not the
        sparse-gradient n-gram tables of FusionNet text encoders).""",
    ),
    'lambda_l2': (
        'float',
        """
        L2 penalty ``lambda_l2 * sum W**2`` on the same weight matrices.""",
    ),
    'optimizer': (
        'str or torch.optim.Optimizer class',
        """
        ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"sgd"`` or an optimizer class. Embedding
        tables with sparse gradients (FusionNet's first layer over TF-IDF text or sparse
        tables) are updated by ``torch.optim.SparseAdam`` with the same ``lr`` instead;
        ``optimizer_params`` and skorch LR schedulers act on the other parameters.""",
    ),
    'lr': (
        'float',
        """
        (Initial) learning rate.""",
    ),
    'optimizer_params': (
        'dict, "auto" or None',
        """
        Other optimizer arguments, e.g. ``{{"momentum": 0.9}}``;
        ``set_params(optimizer_params__momentum=0.9)`` sets one. ``None``: the
        optimizer's own defaults. ``"auto"``: ``{{"betas": (0.9, 0.95)}}`` for ``"adam"``
        and ``"adamw"`` (RealMLP's second-moment decay instead of torch's 0.999), nothing
        for other optimizers; to change another argument, give the whole dict (e.g.
        ``{{"betas": (0.9, 0.95), "weight_decay": 0.0}}``).{optim_note}""",
    ),
    'lr_schedule': (
        '{"cosine", "constant"} or None',
        """
        ``"cosine"`` decays the learning rate from ``lr`` to 0 over ``max_epochs`` (cosine
        annealing, stepped each epoch) on every parameter group, the sparse n-gram tables of
        text encoders and wide paths included (each from its own rate: a wide path's
        ``wide_lr`` times ``lr``); ``"constant"`` or ``None`` keeps ``lr``. A fit resumed
        with ``warm_start=True`` continues the schedule at its epoch; one that raises
        ``max_epochs`` decays over the new ``max_epochs``, as if asked for from the start.""",
    ),
    'max_epochs': (
        'int',
        """
        Number of passes over the training data (fewer with early stopping).""",
    ),
    'batch_size': (
        'int or "auto"',
        """
        Rows per mini-batch; ``-1`` for full batch. ``"auto"`` takes the power of two
        nearest ``n_train / 16``, clipped to ``[32, 512]`` (the value used is
        ``batch_size_``).""",
    ),
    'validation_fraction': (
        'float or None',
        """
        Share of rows held out to compute ``valid_loss`` and ``valid_loss_<task>`` each epoch;
        ``None`` or 0 trains on all rows. Skipped when it would hold out less than one row.""",
    ),
    'stratify': (
        'str',
        """
        Name of a classification task to stratify the validation split on (rows missing
        that label form their own stratum).""",
    ),
    'early_stopping': (
        'bool or "auto"',
        """
        Stop when ``valid_loss`` (the unweighted sum of task losses) has not improved by a
        relative ``tol`` for ``n_iter_no_change`` epochs, and restore the best weights.
        ``"auto"`` does so when the validation split holds at least 20 rows and trains all
        ``max_epochs`` otherwise; ``True`` requires a validation split.""",
    ),
    'n_iter_no_change': (
        'int',
        """
        Patience of early stopping, in epochs.""",
    ),
    'tol': (
        'float',
        """
        Relative improvement that counts for early stopping.""",
    ),
    'refit_full': (
        'bool',
        """
        After early stopping has chosen the number of epochs on the validation split, train
        the network again from the same initial weights on all rows, the validation rows
        included, for that many epochs (the learning-rate schedule as in the first
        training), and keep that network: the validation rows then train the model too.
        ``refit_epochs_`` is the number of epochs, ``history_`` the second training's
        (training losses only) and ``validation_history_`` the first one's. Nothing
        changes when early stopping did not run (``early_stopping=False``, too few
        validation rows under ``"auto"``, ``cross_fit=True``, whose members each have
        their own validation rows), for ``partial_fit``, a streamed table and a
        ``warm_start`` fit that goes on from a refitted network (it has no early stopping
        left); a first training interrupted by the user and resumed with ``warm_start`` is
        refitted at its end. Costs a second training.{refit_note}""",
    ),
    'ema_decay': (
        'float in [0, 1) or None',
        """
        Predict with a moving average of the weights: after the ``n``-th optimizer step
        ``average = d * average + (1 - d) * weights`` with ``d = min(ema_decay, (1 + n) /
        (10 + n))`` (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``; the
        update is torch's ``torch.optim.swa_utils.get_ema_multi_avg_fn``). For the first
        ~``10 / (1 - ema_decay)`` steps (about 2,000 at 0.995, more than most fits take)
        the warm-up term is the smaller one, and the average weighs the ``k``-th of ``n``
        steps about as ``(k / n) ** 8`` (60% of the weight on the last tenth of the steps);
        beyond, the last ``1 / (1 - ema_decay)`` steps or so.
        Validation, early stopping's best epoch, the fitted model and its predictions are
        the average's; training goes on from the trained weights (kept with the net, so
        ``warm_start``, a resumed fit and a model file continue them). ``None``: the
        trained weights themselves.{ema_note}""",
    ),
    'callbacks': (
        'list of skorch callbacks or (name, callback) tuples',
        """
        Extra skorch callbacks (copied at fit); they see ``task_losses`` in ``on_batch_end``.""",
    ),
    'verbose': (
        'int',
        """
        1 prints a table of per-epoch losses (total and per task).""",
    ),
    'progress_bar': (
        'bool or "auto"',
        """
        A tqdm bar over the epochs, with each task's latest loss (validation, else
        training) in its postfix: a widget in Jupyter, a text bar on a terminal. ``"auto"``
        draws it when someone is watching (a Jupyter kernel, or stderr on a terminal) and
        the fit lasts over 2 seconds, but not when the fit is called by code that fits many
        copies (searches and their refit, cross-validation, ensembles, joblib and Dask
        workers; ``GridSearchCV(verbose=...)`` reports those), for ``partial_fit``, nor with
        ``verbose`` > 0. ``True`` always draws it, at once; ``False`` never.""",
    ),
    'random_state': (
        'int, RandomState instance or None',
        """
        Seeds weight initialisation, shuffling, dropout and the validation split, without
        touching torch's global random state. On CPU two fits with the same int give the same
        predictions.""",
    ),
    'device': (
        'str',
        """
        Torch device to train and predict on, e.g. ``"cuda"`` or ``"cuda:1"``.""",
    ),
    'n_threads': (
        'int or None',
        """
        Torch intra-op threads during ``fit`` and prediction (restored afterwards); ``None``
        keeps torch's setting{threads_note}""",
    ),
    'warm_start': (
        'bool',
        """
        When fitted, ``fit`` continues the same network (weights, optimizer, schedule, early
        stopping and random states) until its history holds ``max_epochs`` epochs in all,
        with ``X``, ``y`` encoded by the fitted preprocessing (same tasks; no new classes).
        After an interrupted fit it resumes from the last complete epoch, so a seeded fit
        ends with the weights of an uninterrupted one. With nothing left to train it warns.""",
    ),
    'on_divergence': (
        '{"raise", "restore"}',
        """
        What a non-finite training loss or weight does: ``"raise"`` raises
        :class:`sk_mtl.exceptions.TrainingDivergedError` (the estimator stays as it was
        before the fit); ``"restore"`` puts back the weights of the last finite epoch, warns
        and ends the fit there (it raises when the first epoch already diverges).""",
    ),
    'retrieval': (
        '"auto", int or None',
        """
        Retrieval features (a simplified TabR): each row's ``k`` nearest training rows are
        found in standardized input space and summaries of their labels (per task: the
        distance-weighted mean label and the nearest neighbour's label; and two distances)
        are appended to the row's input; training rows look up the *other* training rows
        (leave-one-out), so they never see their own label. The network learns how far to
        trust its neighbours (fully for an exact duplicate of a training row). An int is
        ``k``; ``"auto"`` uses 16 neighbours for dense inputs of at most 1,024 columns and
        20,000 rows and none otherwise (sparse inputs; larger tables, where the exact search
        costs as much as the fit; custom
        ``trunk`` modules or callables, written for the input's width); ``None`` turns it
        off. With retrieval the trunk reads ``n_features_in_ + retrieval_.n_features_out_``
        columns. The training rows are kept in ``retrieval_`` for prediction.""",
    ),
    'input_scaling': (
        'str or None',
        """
        One of ``"auto"``, ``"quantile+robust+levels"``, ``"quantile+levels"``,
        ``"quantile+robust"``, ``"quantile"``, ``"robust"``, ``"standard"`` or ``None``. How the
        network scales its own numeric input, fitted on the training rows in ``fit`` (kept in
        ``input_scaler_``). ``"quantile+robust"`` gives the network two views of each column side
        by side (:class:`sk_mtl.data.QuantileRobust`): the ``"quantile"`` one and the ``"robust"``
        one, whose linear scale near the centre keeps nearly linear relations nearly linear.
        ``"+levels"`` also one-hot encodes each column of 3 to 16 distinct values in ``fit`` (a
        grid of design values, a survey answer, a code; a value not seen in ``fit`` is none of
        them) and takes the views of the columns and their one-hot columns together, unless those
        would number more than 256 (then none). ``"auto"`` is ``"quantile+robust+levels"`` for
        dense inputs of at most 64 columns, ``"quantile+levels"`` for wider ones (where the second
        view would double the cost of the widest layer), and ``"quantile"`` for a custom ``trunk``
        module or callable (written for the input's width). ``"quantile"`` maps each column through
        its empirical quantiles to a standard normal (scikit-learn's ``QuantileTransformer``, up to
        1,000 quantiles): skewed columns, sentinel values and outliers become well-spread, and a
        scaler or any monotone transform in front changes nothing; ``"robust"``: median and
        interquartile range with a smooth clip to (-3, 3) (RealMLP's;
        :class:`sk_mtl.data.RobustSmoothClip`); ``"standard"``: mean and standard deviation;
        ``None``: the input as given. Sparse input is never scaled.""",
    ),
    'ensemble_size': (
        'int or "auto"',
        """
        Members of an efficient ensemble (TabM's BatchEnsemble, ``tabm`` package): the
        members share each hidden layer's weight matrix, each with its own scalings, biases
        and task heads, in one forward pass; each member has its own loss in training, and
        predictions are the members' mean (mean value, mean probability). ``1`` trains one
        plain network. ``"auto"``: 32 members for up to 2,500 rows (on the suite's small
        multi-label tables they beat 8), 8 for up to 10,000, one network for more (where
        the members measured no better and cost ~10 times the fit time), and 8 with
        ``cross_fit=True``; the number used is ``ensemble_size_``. Applies to the
        default MLP trunk (``trunk=None``); any other trunk is one network.""",
    ),
    'cross_fit': (
        'bool',
        """
        Train ensemble member ``j`` on all rows but fold ``j`` of ``ensemble_size`` folds
        (stratified by ``stratify`` when given), with independent weights, and stop early
        on the out-of-fold loss (each row judged by the member that did not train on it);
        no validation split is held out (``validation_fraction`` is not used). Needs
        ``ensemble_size >= 2``.""",
    ),
    'numeric_embedding': (
        '{"periodic", "piecewise"} or None',
        """
        ``"periodic"``: periodic embeddings of every input column (PLR-lite, from
        ``rtdl_num_embeddings``) in front of the trunk; ``"piecewise"``: piecewise-linear
        embeddings (PLE, TabM's numeric embedding, from ``rtdl_num_embeddings``) of every
        scaled column over 48 quantile bins fitted in ``fit`` (``numeric_bins_``), dense
        input only; ``None``: the columns as they are.""",
    ),
    'front_scale': (
        'float > 0 or None',
        """
        RealMLP's front scale: a learned scale of every column the trunk reads (after the
        numeric embedding, if any; the retrieval columns too), starting at 1 and learning
        at this multiple of ``lr`` (RealMLP's 6), so that columns that do not help are
        turned down early, as a tree ignores them
        (:class:`~sk_mtl.modules.FrontScale`). ``None``: none. Not with a custom
        ``trunk``. On the 20-table suite it raised the share of tasks at least as good
        as gradient boosting's from 79% to 81% (``docs/defaults.md``).""",
    ),
}

#: The multimodal estimators' own parameters, and their ``retrieval``.
FUSION_PARAMETERS: dict[str, tuple[str, str]] = {
    'modalities': (
        'dict of str to (str or list of str)',
        """
        For a DataFrame ``X``: the columns of each modality, by name, list of names, or
        shell-style pattern (``"num__*"`` selects a ``ColumnTransformer``'s ``num`` output).
        Every column must belong to a modality. ``None`` when ``X`` is a dict (or
        ``skorch.helper.SliceDict``) keyed by modality, or a single block; for a DataFrame
        with text or string columns, ``None`` groups its columns by kind into ``"text"``,
        ``"categorical"`` and ``"numeric"`` modalities (see ``modality_plan_``). A later
        DataFrame is read with the plan of the fit, its columns matched by name in any
        order.""",
    ),
    'encoders': (
        'dict of str to (str, Encoder or nn.Module)',
        """
        Encoder of each modality: a name in ``sk_mtl.encoders.ENCODERS``, an
        ``sk_mtl.encoders`` specification (its parameters searchable as
        ``encoders__<modality>__<param>``), or any ``nn.Module`` taking that modality's batch
        (deep-copied at fit). By default it is chosen from the data: ``"mlp"`` for numeric
        tables (dense ones standardized; scipy sparse ones read by a sparse first layer),
        ``"tfidf"`` for text (a TF-IDF vocabulary of word n-grams fitted on the training
        text, read as a TF-IDF-weighted sum of n-gram embeddings), ``"embedding"`` for string
        categories (integer columns among them count as codes; an all-integer block is a
        table unless given ``"embedding"``), ``"cnn"`` for ``(n, C, H, W)`` images. String
        columns are text when they hold free text (two or more words per value on average,
        or mostly distinct values), categories otherwise. Also ``"bag"`` (mean of token
        embeddings) and ``"gru"`` (bidirectional GRU) for text, ``"sentence"`` (a frozen
        pretrained sentence-transformers model; the ``text`` extra), ``"linear"`` for
        tables and images. The fitted choice is in ``encoders_``.""",
    ),
    'fusion': (
        'str or Fusion',
        """
        How modalities are joined, a name in ``sk_mtl.fusion.FUSIONS`` or an
        ``sk_mtl.fusion`` specification (parameters searchable as ``fusion__<param>``):
        ``"early"`` sums linear projections of the raw inputs (one linear layer over the
        joined tables, TF-IDF text and pixels; categories, ``"bag"`` and ``"gru"`` text keep
        their embedding encoders) before the shared MLP; ``"concat"`` concatenates the
        encoder outputs; ``"weighted_sum"`` is ``sum_m w_m proj_m(h_m)``; ``"attention"``
        weighs the projected embeddings by learned attention per row; ``"gated"`` is a
        gated multimodal unit; ``"late"`` gives each modality its own MLP and heads and
        averages their outputs with ``fusion_weights``.""",
    ),
    'fusion_weights': (
        'dict of str to float',
        """
        ``w_m`` of each modality (1.0 when left out; 0 drops a modality):
        ``"concat"`` scales each embedding by it, ``"early"`` and ``"weighted_sum"`` sum the
        projections with it, ``"late"`` averages the outputs with it.
        ``"attention"`` and ``"gated"`` learn their own weights per row and refuse weights
        other than 1. ``set_params(fusion_weights__<modality>=w)`` changes one; after fit
        it changes the predictions only with ``fusion_conditioning``.""",
    ),
    'learn_fusion_weights': (
        'bool',
        """
        Train the fusion weights (starting from ``fusion_weights``) with the network; for
        the fusions that read them.""",
    ),
    'fusion_conditioning': (
        'str, FusionConditioning or None',
        """
        Train one network for every ``fusion_weights`` vector: a name in
        ``sk_mtl.fusion.FUSION_CONDITIONINGS`` (``"log_uniform"``: each training row draws
        each modality's weight log-uniform in [1/8, 8], or 0 with probability 0.1) or an
        :class:`sk_mtl.fusion.FusionConditioning` (parameters searchable as
        ``fusion_conditioning__<param>``). The fusion weighs each training row's modalities
        by its own draw and the shared MLP reads them (FiLM on ``log(1 + w_m)``); validation,
        early stopping and ``predict`` read ``fusion_weights`` as set at the time, so
        ``set_params(fusion_weights__<modality>=w)`` after fit changes the predictions
        without refitting (0 turns a modality off), and
        :class:`sk_mtl.model_selection.FusionWeightSearchCV` scores a grid of fusion
        weights on one fit per fold. For the fusions that read fusion weights (not
        ``"attention"``, ``"gated"``), without ``learn_fusion_weights``; with
        ``weighting="conditioned"``, at its default FiLM on the trunk's output. ``None``:
        the weights are fixed at fit.""",
    ),
    'encoder_dim': (
        'int',
        """
        Output width of each encoder.""",
    ),
    'fusion_dim': (
        'int',
        """
        Common width of the projections in early, weighted-sum, attention and gated fusion.""",
    ),
    'modality_dropout': (
        'float',
        """
        In training, hide each modality of a row with this probability (the row keeps at
        least one), so the network learns the "missing" embeddings; needed to predict on data
        where a whole modality is absent. A hidden modality is hidden from every path that
        makes the predictions: the deep path reads its "missing" embedding and a text's
        wide path (the ``"tfidf"`` encoder's n-grams straight into the heads) reads nothing
        of it, as for a row without it.""",
    ),
    'text_max_features': (
        'int',
        """
        Vocabulary size of text modalities.""",
    ),
    'text_ngram_range': (
        'tuple of int',
        """
        Word n-grams of the ``"tfidf"`` text encoder.""",
    ),
    'text_min_df': (
        'int',
        """
        Minimum number of training texts an n-gram of the ``"tfidf"`` encoder must appear in
        (1 when there are fewer than ``10 * text_min_df`` texts); the ``"bag"`` and ``"gru"``
        vocabularies keep the ``text_max_features`` most frequent words.""",
    ),
    'text_max_len': (
        'int',
        """
        Tokens kept per text for the ``"bag"`` and ``"gru"`` encoders.""",
    ),
    'retrieval': (
        '"auto", int or None',
        """
        Retrieval features over the dense numeric (tabular) modalities, as in
        :class:`MultiTaskNet`: each row's ``k`` nearest training rows in their joined,
        standardized columns, and summaries of those rows' labels (per task the
        distance-weighted mean label and the nearest neighbour's label; two distances),
        looked up leave-one-out for training rows. They enter the network as one more
        modality (``"_neighbours"``, with its own MLP encoder and fusion weight 1.0), missing
        for a row where a table is. An int is ``k``; ``"auto"`` uses 16 neighbours when the
        tables have at most 64 columns in all and there are at most 20,000 rows, and none
        otherwise; ``None`` turns it off; without a dense table there are none.""",
    ),
    'alignment_weight': (
        'float',
        """
        Weight of an auxiliary alignment loss: each modality's encoder output is projected
        (linearly, to ``fusion_dim``) into a shared space, and the symmetric InfoNCE loss
        between every pair of modalities (the CLIP objective: a row's two views must pick
        each other among the batch's rows, temperature 0.1) on the rows that have both is
        added to the training objective, times this weight. Logged per epoch as
        ``train_alignment`` and ``valid_alignment``; ``valid_loss`` stays the sum of the
        task losses. 0 turns it off.""",
    ),
}

#: The per-family words of the templates above.
TABLE_TEXT = {
    "optim_note": (
        "\n        The default here: on the 20-table suite it raised the share of tasks at"
        "\n        least as good as the better of gradient boosting and a random forest"
        "\n        from 63% to 68% (tables weighted equally; ``docs/defaults.md``)."
    ),
    "ema_note": (
        "\n        On by default here: on the 20-table suite it raised the mean score on 15"
        "\n        of the 20 tables (``docs/defaults.md``; 0.995 and 0.998 gave the same"
        "\n        scores there: the warm-up decided)."
    ),
    "refit_note": (
        "\n        Off by default here: on four suite tables it was no better "
        "(``docs/defaults.md``)."
    ),
    "hidden_kind": ' or "auto"',
    "hidden_auto": (
        ' ``"auto"``: ``(64, 64)`` for up to 300 rows (as good as\n'
        "        ``(128, 128)`` on the suite's smallest tables, in about 0.6x the fit time), "
        "``(128, 128)``\n        for up to 10,000 (where ``ensemble_size=\"auto\"`` trains "
        "an ensemble), ``(256, 256)``\n        for more (one network: on the suite's large "
        "tables the wider one won tasks against\n        the trees, for about 2x the fit "
        "time); see ``docs/defaults.md``. The widths used are\n        ``hidden_dims_``."
    ),
    "dropout_kind": ' or "auto"',
    "dropout_where": "",
    "dropout_auto": (
        ' ``"auto"``: where early\n'
        "        stopping has a validation split to judge by, train the network with 0.1 and "
        "again\n        with 0 (same seed, same split) and keep the one whose best "
        "validation loss is\n        lower (dropout helps noisy targets and hurts smooth, "
        "nearly deterministic ones;\n        ``docs/defaults.md``); else, and in a "
        "data-parallel fit or on a streamed table,\n        0.1 alone. Up to twice "
        "the fit time; the rate used is ``dropout_``."
    ),
    "threads_note": (
        ". One thread is the default because these layers are too small\n"
        "        to gain from more, and threads that spin-wait for a core another process "
        "holds\n        (``GridSearchCV(n_jobs=...)``, a busy machine) slow an epoch down "
        "several-fold; see\n        ``docs/defaults.md``."
    ),
}
FUSION_TEXT = {
    "optim_note": (
        "\n        Not the default here: not measured on the clothing reviews."
    ),
    "ema_note": (
        "\n        Off by default here: on the clothing reviews its AUC was lower or the same"
        "\n        for every seed (``docs/defaults.md``)."
    ),
    "refit_note": (
        "\n        On by default here: on the clothing reviews it raised the Recommended AUC by"
        "\n        0.001-0.0015 for every seed (``docs/encoders_and_fusions.md``)."
    ),
    "hidden_kind": "",
    "hidden_auto": "",
    "dropout_kind": "",
    "dropout_where": " and encoder",
    "dropout_auto": "",
    "threads_note": (
        " (the default here: the text encoders' larger layers fitted\n"
        "        the clothing reviews 1.25-1.5x faster on two threads of an idle 2-core "
        "machine;\n        ``n_threads=1`` is the safer choice on a busy machine, see "
        "``docs/defaults.md``)."
    ),
}


def _shown(value) -> str:
    """A default as the docstring writes it: strings in double quotes, else its repr."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def parameters_doc(defaults: dict, entries: dict[str, tuple[str, str]], **text) -> str:
    """The ``Parameters`` section for the parameters of ``defaults`` (a declaration table,
    in its order), each entry from ``entries``, its placeholders filled from ``text``."""
    lines = ["", "    Parameters", "    ----------"]
    for name, default in defaults.items():
        kind, description = entries[name]
        for slot in ("dropout_kind", "hidden_kind"):  # the placeholders in kinds
            kind = kind.replace("{" + slot + "}", text.get(slot, ""))
        lines.append(f"    {name} : {kind}, default={_shown(default)}")
        lines.append(description.format(**text).lstrip("\n"))
    return "\n".join(lines) + "\n"
