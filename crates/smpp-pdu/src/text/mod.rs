//! placeholder
/// placeholder
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataCoding(pub u8);
