"""Evaluation metrics: CMC/mAP ranking (Section 4.1) and the Calinski-Harabasz index (Table 1)."""

from mgat.metrics.clustering import calinski_harabasz
from mgat.metrics.rank import RankResult, rank_metrics, squared_euclidean

__all__ = ["RankResult", "calinski_harabasz", "rank_metrics", "squared_euclidean"]
