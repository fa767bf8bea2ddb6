//! One request's shared cell: the request body on its way out and the answer on its way back,
//! in the single allocation a request makes.
//!
//! It does the work of a `oneshot` channel (which a request allocated anyway) and also holds
//! the body, so what travels through the command channel, the session's window and its events
//! is a pointer rather than a 256-byte `Body`, and the body stays where it is for a resend
//! after `ESME_RTHROTTLED`. The body is written once, before the cell is shared, and only read
//! after; the answer sits behind a mutex that neither side holds for more than a move.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use smpp_pdu::{Body, Pdu};

use crate::Error;

struct Call {
    body: Body,
    answer: Mutex<Slot>,
}

/// Where the answer stands. Its size is the answer's: it sits in the request's one allocation.
enum Slot {
    /// No answer yet; the waker of the task awaiting it, once it has polled.
    Waiting(Option<Waker>),
    Ready(Result<Pdu, Error>),
    /// The answer has been taken by the caller.
    Taken,
}

impl Call {
    fn answer(&self) -> MutexGuard<'_, Slot> {
        // Nothing panics while holding the lock; a poisoned cell still holds a valid state.
        self.answer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The driver's end: reads the body and answers once. Dropped unanswered, it answers
/// [`Error::Stopped`].
pub(crate) struct Reply(Arc<Call>);

/// The caller's end: resolves to the answer.
pub(crate) struct Response(Arc<Call>);

/// A cell for `body`, its two ends.
pub(crate) fn call(body: Body) -> (Reply, Response) {
    let call = Arc::new(Call {
        body,
        answer: Mutex::new(Slot::Waiting(None)),
    });
    (Reply(call.clone()), Response(call))
}

impl Reply {
    /// The request.
    pub(crate) fn body(&self) -> &Body {
        &self.0.body
    }

    /// Answers the request (nothing happens if the caller has gone).
    pub(crate) fn send(self, result: Result<Pdu, Error>) {
        self.complete(result);
    }

    fn complete(&self, result: Result<Pdu, Error>) {
        let waker = {
            let mut answer = self.0.answer();
            match std::mem::replace(&mut *answer, Slot::Ready(result)) {
                Slot::Waiting(waker) => waker,
                // Answered already: keep the first answer.
                earlier => {
                    *answer = earlier;
                    None
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        let unanswered = matches!(*self.0.answer(), Slot::Waiting(_));
        if unanswered {
            self.complete(Err(Error::Stopped));
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Reply")
            .field(&self.0.body.command_id())
            .finish()
    }
}

impl Future for Response {
    type Output = Result<Pdu, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut answer = self.0.answer();
        match &mut *answer {
            Slot::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Slot::Ready(_) => match std::mem::replace(&mut *answer, Slot::Taken) {
                Slot::Ready(result) => Poll::Ready(result),
                _ => unreachable!("matched Ready just above"),
            },
            // Polled after completion: a caller's bug; report it rather than hang.
            Slot::Taken => Poll::Ready(Err(Error::Stopped)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp_pdu::CommandStatus;

    fn resp() -> Pdu {
        Pdu {
            sequence_number: 7,
            command_status: CommandStatus::OK,
            body: Body::GenericNack,
        }
    }

    #[tokio::test]
    async fn the_answer_reaches_a_waiting_caller() {
        let (reply, response) = call(Body::EnquireLink);
        let waiter = tokio::spawn(response);
        tokio::task::yield_now().await;
        assert_eq!(reply.body().command_id(), smpp_pdu::CommandId::ENQUIRE_LINK);
        reply.send(Ok(resp()));
        assert_eq!(waiter.await.unwrap().unwrap().sequence_number, 7);
    }

    #[tokio::test]
    async fn an_answer_before_the_first_poll_is_kept() {
        let (reply, response) = call(Body::EnquireLink);
        reply.send(Err(Error::Timeout));
        assert!(matches!(response.await, Err(Error::Timeout)));
    }

    #[tokio::test]
    async fn a_reply_dropped_unanswered_answers_stopped() {
        let (reply, response) = call(Body::EnquireLink);
        let waiter = tokio::spawn(response);
        tokio::task::yield_now().await;
        drop(reply);
        assert!(matches!(waiter.await.unwrap(), Err(Error::Stopped)));
    }

    #[test]
    fn answering_after_the_caller_left_is_harmless() {
        let (reply, response) = call(Body::EnquireLink);
        drop(response);
        reply.send(Ok(resp()));
    }
}
