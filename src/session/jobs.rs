//! The worker's jobs that run on threads of their own, so frames keep flowing: training a
//! person's siamese head, and enrolling the account for system face unlock through pkexec.

use std::sync::Arc;

use crossbeam_channel::Sender;

use super::messages::Event;
use crate::engine::Engine;
use crate::store::names;

type Wake = Arc<dyn Fn() + Send + Sync>;

fn send(events: &Sender<Event>, wake: &Wake, event: Event) {
    let _ = events.send(event);
    wake();
}

/// Collects the embeddings here (cached, quick), then fits the head on its own thread so
/// frames keep flowing while the loss curve grows in the window.
pub fn train(engine: &mut Engine, person: Option<String>, events: &Sender<Event>, wake: &Wake) {
    let Some(person) = person else {
        return send(
            events,
            wake,
            Event::Trained(Err("choose a person first".into())),
        );
    };
    let config = crate::train::TrainConfig::default();
    let (trainer, images) = match engine.prepare_training(&person, &config) {
        Ok(t) => t,
        Err(e) => {
            return send(events, wake, Event::Trained(Err(e.for_desk())));
        }
    };
    let (events, wake) = (events.clone(), wake.clone());
    let root = engine.store().root().to_owned();
    let failed = (events.clone(), wake.clone());
    let spawned = std::thread::Builder::new()
        .name("train".into())
        .spawn(move || {
            let trained = trainer.run(|epoch| {
                let _ = events.send(Event::TrainProgress(*epoch));
                wake();
            });
            let saved = crate::train::SavedHead::new(&trained.report, trained.head);
            let result = crate::engine::training::save_trained(&root, &person, &saved, &images)
                .map(|()| Box::new(trained.report))
                .map_err(|e| crate::shown::Reason(&e).to_string());
            send(&events, &wake, Event::Trained(result));
        });
    if let Err(e) = spawned {
        let (events, wake) = failed;
        send(
            &events,
            &wake,
            Event::Trained(Err(format!("cannot start training: {e}"))),
        );
    }
}

/// Runs the system enrolment through pkexec on its own thread (the password dialog may stay
/// up a while); without pkexec, says the exact command to run.
pub fn enable_face_unlock(
    engine: &Engine,
    person: String,
    account: String,
    events: &Sender<Event>,
    wake: &Wake,
) {
    let facegate = crate::unlock::roots_own_facegate();
    // Quoted word by word, so a person or a folder with a space in its name can be pasted.
    let shown = |facegate: &str| {
        let command =
            crate::unlock::enrol_command(facegate, &account, engine.store().root(), &person);
        std::iter::once("sudo".to_owned())
            .chain(command.iter().map(|a| names::shell_arg(a)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let facegate = match facegate {
        Ok(path) => path.display().to_string(),
        Err(why) => {
            // Not run as root: said, with the installed facegate sudo finds on its own PATH.
            let text = format!(
                "face unlock is enabled by an administrator, and this window's facegate, {why}, \
                 so it is not run as root: once FaceGate is installed for everyone (its package \
                 puts it in {}), run: {}",
                crate::unlock::INSTALLED,
                shown("facegate")
            );
            return send(events, wake, Event::Warning(text));
        }
    };
    let command = crate::unlock::enrol_command(&facegate, &account, engine.store().root(), &person);
    let shown = shown(&facegate);
    let (events, wake) = (events.clone(), wake.clone());
    let failed = (events.clone(), wake.clone());
    let spawned = std::thread::Builder::new()
        .name("enable-unlock".into())
        .spawn(move || {
            let result = std::process::Command::new("pkexec").args(&command).output();
            let event = match result {
                // Both say a command to copy: warnings, which stay, not notes, which fade.
                Ok(out) if out.status.success() => {
                    Event::Warning(crate::unlock::enrolled_said(&account, &out))
                }
                Ok(out) => Event::Error(format!(
                    "face unlock was not enabled: {}; or run: {shown}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Event::Warning(format!("to enable face unlock for {account}, run: {shown}"))
                }
                Err(e) => Event::Error(format!("cannot run pkexec ({e}); run: {shown}")),
            };
            send(&events, &wake, event);
        });
    if spawned.is_err() {
        let (events, wake) = failed;
        send(
            &events,
            &wake,
            Event::Error("cannot start the enrolment".into()),
        );
    }
}
