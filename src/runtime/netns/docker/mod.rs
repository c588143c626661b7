//! Docker as docker 1.12 showed itself to exec plugins: [`model`] (the containers and their
//! inspect documents), [`api`] (the Engine API on `/var/run/docker.sock`), [`cli`] (the `docker`
//! command first on the plugins' `PATH`, a client of that API) and [`template`] (the subset of
//! Go templates `docker inspect --format` took).

pub mod api;
pub mod cli;
pub mod model;
pub mod template;
