"""Holding a clustering to a number of speakers: merging the closest clusters, or clustering again."""

from __future__ import annotations

import numpy as np

from maied.diarization.base import SpeakerBounds
from maied.diarization.clustering import BoundedClustering, fit_count, merge_closest, recluster


def blobs(centres: list[list[float]], per: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    points = [np.asarray(c) + 0.05 * rng.standard_normal((per, len(c))) for c in centres]
    return np.vstack(points), np.repeat(np.arange(len(centres)), per)


CENTRES = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.2, 0.0]]  # the third lies close to the first


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_merge_closest_joins_the_two_most_similar_clusters() -> None:
    x, truth = blobs(CENTRES)
    merged = merge_closest(x, truth, 2)
    assert len(set(merged.tolist())) == 2
    assert same_partition(merged, np.where(truth == 2, 0, truth))


def test_recluster_finds_the_requested_count() -> None:
    x, truth = blobs(CENTRES[:2])
    labels = recluster(x, 2)
    assert same_partition(labels, truth)
    assert len(set(recluster(x[:1], 3).tolist())) == 1


def test_fit_count_keeps_labels_within_bounds_and_changes_nothing_inside_them() -> None:
    x, truth = blobs(CENTRES)
    assert fit_count(x, truth, SpeakerBounds(low=2, high=3)) is truth
    assert len(set(fit_count(x, truth, SpeakerBounds(num=2)).tolist())) == 2
    assert len(set(fit_count(x, truth, SpeakerBounds(high=1)).tolist())) == 1
    one = np.zeros(len(x), dtype=int)
    assert len(set(fit_count(x, one, SpeakerBounds(low=3)).tolist())) == 3


def test_bounded_clustering_wraps_a_clusterer() -> None:
    x, truth = blobs(CENTRES[:2])
    everyone_alone = BoundedClustering(lambda e: np.arange(len(e)), SpeakerBounds(num=2))
    assert same_partition(everyone_alone(x), truth)
    untouched = BoundedClustering(lambda e: np.zeros(len(e), dtype=int), SpeakerBounds())
    assert set(untouched(x).tolist()) == {0}
