//! The API servers of a run: the docker Engine API ([`super::docker::api`]) on
//! `/var/run/docker.sock` and the kubelet's read-only API ([`super::kubeapi`]) on
//! `127.0.0.1:10255`, both served by hyper on one thread with a single-threaded tokio runtime.

use std::convert::Infallible;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::sync::{Arc, Mutex};

use hyper::Request;
use hyper::body::Incoming;

use super::docker::api::{DOCKER_SOCKET, docker_route};
use super::docker::model::Registry;
use super::kubeapi;

/// The API servers of one run, on one thread with a single-threaded tokio runtime.
#[derive(Debug)]
pub struct Servers {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Servers {
    /// Bind `/var/run/docker.sock` and `127.0.0.1:10255` (in the calling thread's namespaces)
    /// and serve them until [`Servers::stop`].
    pub fn start(registry: Arc<Mutex<Registry>>) -> std::io::Result<Servers> {
        let _ = std::fs::remove_file(DOCKER_SOCKET);
        let docker = StdUnixListener::bind(DOCKER_SOCKET)?;
        docker.set_nonblocking(true)?;
        let kube = std::net::TcpListener::bind(kubeapi::ADDRESS)?;
        kube.set_nonblocking(true)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("execnet-apis".into())
            .spawn(move || rt.block_on(serve(docker, kube, registry, rx)))?;
        Ok(Servers {
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve(
    docker: StdUnixListener,
    kube: std::net::TcpListener,
    registry: Arc<Mutex<Registry>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let (Ok(docker), Ok(kube)) = (
        tokio::net::UnixListener::from_std(docker),
        tokio::net::TcpListener::from_std(kube),
    ) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stop => return,
            conn = docker.accept() => {
                if let Ok((stream, _)) = conn {
                    let reg = registry.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                            let reg = reg.clone();
                            async move {
                                Ok::<_, Infallible>(docker_route(&reg, req.method(), req.uri()))
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    });
                }
            }
            conn = kube.accept() => {
                if let Ok((stream, _)) = conn {
                    let reg = registry.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                            let reg = reg.clone();
                            async move {
                                Ok::<_, Infallible>(kubeapi::route(&reg, req.method(), req.uri()))
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    });
                }
            }
        }
    }
}
