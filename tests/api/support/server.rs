//! The service in this process, on a thread of its own with its own actix
//! System: a test that blocks (a synchronous query, a blocking helper) never
//! holds up the app's actors, and dropping the handle stops the server.

use std::sync::mpsc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use arkiter_lever::config::Settings;
use arkiter_lever::pipeline::Registry;
use arkiter_lever::pipeline::hooks::Hooks;
use arkiter_lever::roster::Roster;
use arkiter_lever::server::Application;

/// How long a drop waits for the app's thread to wind down.
const STOP_WAIT: Duration = Duration::from_secs(10);

pub struct InProcess {
    port: u16,
    registry: actix::Addr<Registry>,
    roster: std::sync::Arc<Roster>,
    server: ServerHandle,
    stopped: mpsc::Receiver<()>,
}

impl InProcess {
    /// Builds the app from `settings` on a new thread (its listener bound
    /// there, port 0 allowed) and returns once it is bound.
    pub fn start(settings: Settings) -> Self {
        Self::start_with_hooks(settings, Hooks::none())
    }

    /// [`Self::start`] with test hooks in the pipeline.
    pub fn start_with_hooks(settings: Settings, hooks: Hooks) -> Self {
        let (built_tx, built) = mpsc::channel();
        let (stopped_tx, stopped) = mpsc::channel();
        std::thread::Builder::new()
            .name("app".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let app = match Application::build_with_hooks(settings, hooks) {
                        Ok(app) => app,
                        Err(e) => {
                            let _ = built_tx.send(Err(e));
                            return;
                        }
                    };
                    let (port, registry, roster) = (app.port(), app.registry(), app.roster());
                    let server = app.into_server();
                    let _ = built_tx.send(Ok((port, registry, roster, server.handle())));
                    let _ = server.await;
                });
                let _ = stopped_tx.send(());
            })
            .expect("app thread");
        let (port, registry, roster, server) = built
            .recv()
            .expect("the app thread answers")
            .expect("build app");
        Self {
            port,
            registry,
            roster,
            server,
            stopped,
        }
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn registry(&self) -> actix::Addr<Registry> {
        self.registry.clone()
    }

    /// The app's roster of connection ids.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // The stop command is sent at once; its completion is not awaited.
        drop(self.server.stop(false));
        let _ = self.stopped.recv_timeout(STOP_WAIT);
    }
}
