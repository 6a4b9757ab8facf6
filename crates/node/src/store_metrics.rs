//! Row-store figures on the metrics endpoint, read from the store on each
//! scrape: the row cache's and the index-group cache's hits, misses and
//! size, and the files in level 0 of the data's tree.

use prismdb_rowstore::RowStore;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::Arc;

/// Reports the row store's figures when the registry is encoded.
pub struct StoreCollector(pub Arc<RowStore>);

impl std::fmt::Debug for StoreCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreCollector")
    }
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self.0.row_cache_stats();
        let g = self.0.group_cache_stats();
        let counters = [
            (
                "row_cache_hits",
                "Point reads answered by the row cache",
                s.hits,
            ),
            (
                "row_cache_misses",
                "Point reads the row cache could not answer",
                s.misses,
            ),
            (
                "index_group_cache_hits",
                "Reads of one leading value's index entries answered by the index-group cache",
                g.hits,
            ),
            (
                "index_group_cache_misses",
                "Reads of one leading value's index entries the index-group cache could not answer",
                g.misses,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let gauges = [
            (
                "row_cache_rows",
                "Rows and index entries held by the row cache",
                s.rows,
            ),
            (
                "row_cache_bytes",
                "Bytes the row cache counts its entries as",
                s.bytes,
            ),
            (
                "index_group_cache_groups",
                "Index groups (and markers of long ones) held by the index-group cache",
                g.rows,
            ),
            (
                "index_group_cache_bytes",
                "Bytes the index-group cache counts its groups as",
                g.bytes,
            ),
            (
                "rowstore_level0_files",
                "Files in level 0 of the row store's tree (each range read seeks every one)",
                self.0.files_per_level().first().copied().unwrap_or(0),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value as i64);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
