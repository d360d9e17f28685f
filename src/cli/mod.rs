//! The `elfmaps` command line, behind the `cli` feature: clap types ([`args`]), inputs
//! read once and handed to the library ([`input`]), dispatch ([`run`]), the man pages
//! ([`man`]), exit codes, colour and output ([`out`]) the `/metrics` server ([`serve`]) and the one way to write an output file ([`write`]). No analysis and no JSON
//! building happen here: the library computes, `elfmaps::render` prints.

mod args;
mod input;
mod man;
mod out;
mod run;
mod serve;
mod write;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use elfmaps::render::map::Origin;
use elfmaps::report::Report;
use elfmaps::vocab::PageSize;
use elfmaps::vocab::escape::escape;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) use args::*;
pub(crate) use input::*;
pub(crate) use man::*;
pub(crate) use out::*;
pub(crate) use run::*;
