//! placeholder
/// placeholder
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MessageState(pub u8);
impl MessageState {
    /// placeholder
    pub const DELIVERED: MessageState = MessageState(2);
}
