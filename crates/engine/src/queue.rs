//! Group commit across callers: a worker thread per advertiser drains every batch waiting,
//! stores them with one log append (one fsync), and answers each caller.
//!
//! Under load many requests share one fsync, so throughput grows with concurrency while each
//! acknowledgement still means "durable".

use std::sync::Arc;
use std::sync::mpsc;

use crate::EngineError;
use crate::advertiser::{Advertiser, IngestOutcome};
use crate::ingest::Parsed;

/// Most events stored in one group commit.
pub const MAX_GROUP_EVENTS: usize = 50_000;

/// A callback that receives a batch's outcome once it is durable (or failed).
pub type Reply = Box<dyn FnOnce(Result<IngestOutcome, String>) + Send>;

struct Job {
    events: Vec<Parsed>,
    reply: Reply,
}

/// The sending side of an advertiser's ingest worker. Cloning shares the worker.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Job>,
}

impl IngestQueue {
    /// Starts the worker thread for `adv`.
    pub fn spawn(adv: Arc<Advertiser>) -> Result<IngestQueue, EngineError> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("ingest-{}", adv.record.id))
            .spawn(move || worker(adv, rx))
            .map_err(|e| EngineError::io(std::path::Path::new("ingest worker"), e))?;
        Ok(IngestQueue { tx })
    }

    /// Queues a batch; `reply` is called when it is durable (or failed).
    pub fn submit(&self, events: Vec<Parsed>, reply: Reply) {
        if let Err(mpsc::SendError(job)) = self.tx.send(Job { events, reply }) {
            (job.reply)(Err("the ingest worker has stopped".into()));
        }
    }
}

fn worker(adv: Arc<Advertiser>, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut n = jobs[0].events.len();
        while n < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    n += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let (batches, replies): (Vec<Vec<Parsed>>, Vec<Reply>) =
            jobs.into_iter().map(|j| (j.events, j.reply)).unzip();
        match adv.ingest_batches(batches) {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    reply(Ok(outcome));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for reply in replies {
                    reply(Err(msg.clone()));
                }
            }
        }
    }
}
