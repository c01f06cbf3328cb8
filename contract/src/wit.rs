//! Conversions between the contract's types and their WIT bindings, written
//! once for both directions and for every binding generator: the host
//! (wasmtime's `bindgen!`) and the guest (wit-bindgen) each invoke
//! [`wit_conversions!`](crate::wit_conversions) with the module their
//! generator made for `dixa:connector/types`.

/// Converts a value to its counterpart across the WIT boundary: a record, a
/// list or an option of them, or a plain value (which stays as it is). The
/// record impls come from [`wit_conversions!`](crate::wit_conversions); the
/// blanket ones let a record's fields convert whatever their shape.
pub trait Convert<T> {
    /// The counterpart of `self`.
    fn convert(self) -> T;
}

macro_rules! unchanged {
    ($($plain:ty),*) => {
        $(impl Convert<$plain> for $plain {
            fn convert(self) -> $plain {
                self
            }
        })*
    };
}
unchanged!(String, bool, u16, u32);

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(self) -> Vec<B> {
        self.into_iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Option<B> {
        self.map(Convert::convert)
    }
}

/// Implements [`From`] both ways, through [`Convert`], between every type of
/// `dixa_contract::types` (and the error) and its binding in the module
/// `$wit` (the generated `dixa:connector/types`, in scope at the call site).
#[macro_export]
macro_rules! wit_conversions {
    ($wit:ident) => {
        $crate::__wit_records! { $wit;
            NoteInput { conversation_id, message, agent_id, created_at }
            Note { id, author_id, created_at, message }
            MessageInput { conversation_id, content, direction, agent_id }
            Message { message_id, author_id, created_at, direction, content }
            TagInput { conversation_id, tag_id }
            TagResult { success }
            ConversationInput { conversation_id }
            Tag { id, name, color, state }
            TagList { tags }
            NoteList { notes }
            NewNote { message, agent_id, created_at }
            NotesInput { conversation_id, notes }
            NotesResult { results }
        }
        $crate::__wit_enums! { $wit;
            types::Direction { Inbound, Outbound }
            types::TagState { Active, Inactive }
            error::TransportKind { Denied, Dns, Connect, Tls, Timeout, ConnectionLost, Other }
        }

        // WIT calls it `type`, a Rust keyword: `type_` in the bindings.
        impl $crate::wit::Convert<$wit::MessageContent> for $crate::types::MessageContent {
            fn convert(self) -> $wit::MessageContent {
                $wit::MessageContent {
                    value: self.value,
                    type_: self.content_type,
                }
            }
        }
        impl $crate::wit::Convert<$crate::types::MessageContent> for $wit::MessageContent {
            fn convert(self) -> $crate::types::MessageContent {
                $crate::types::MessageContent {
                    value: self.value,
                    content_type: self.type_,
                }
            }
        }
        $crate::__wit_from! { $wit; types::MessageContent }

        // Serde's variants carry named fields; the WIT cases one payload.
        impl $crate::wit::Convert<$wit::NoteOutcome> for $crate::types::NoteOutcome {
            fn convert(self) -> $wit::NoteOutcome {
                match self {
                    $crate::types::NoteOutcome::Created { note } => {
                        $wit::NoteOutcome::Created($crate::wit::Convert::convert(note))
                    }
                    $crate::types::NoteOutcome::Failed { message } => {
                        $wit::NoteOutcome::Failed(message)
                    }
                }
            }
        }
        impl $crate::wit::Convert<$crate::types::NoteOutcome> for $wit::NoteOutcome {
            fn convert(self) -> $crate::types::NoteOutcome {
                match self {
                    $wit::NoteOutcome::Created(note) => $crate::types::NoteOutcome::Created {
                        note: $crate::wit::Convert::convert(note),
                    },
                    $wit::NoteOutcome::Failed(message) => {
                        $crate::types::NoteOutcome::Failed { message }
                    }
                }
            }
        }
        $crate::__wit_from! { $wit; types::NoteOutcome }

        impl $crate::wit::Convert<$wit::Error> for $crate::Error {
            fn convert(self) -> $wit::Error {
                use $crate::Error as E;
                match self {
                    E::InvalidInput { field, reason } => {
                        $wit::Error::InvalidInput($wit::InvalidInput { field, reason })
                    }
                    E::Configuration(detail) => $wit::Error::Configuration(detail),
                    E::MissingCredentials => $wit::Error::MissingCredentials,
                    E::Unauthorized(message) => $wit::Error::Unauthorized(message),
                    E::NotFound(message) => $wit::Error::NotFound(message),
                    E::RateLimited {
                        retry_after_seconds,
                    } => $wit::Error::RateLimited(retry_after_seconds),
                    E::Api {
                        status,
                        message,
                        dixa_may_have_acted,
                    } => $wit::Error::Api($wit::ApiError {
                        status,
                        message,
                        dixa_may_have_acted,
                    }),
                    E::Transport {
                        kind,
                        message,
                        dixa_may_have_acted,
                    } => $wit::Error::Transport($wit::TransportError {
                        kind: $crate::wit::Convert::convert(kind),
                        message,
                        dixa_may_have_acted,
                    }),
                    E::InvalidResponse {
                        message,
                        dixa_may_have_acted,
                    } => $wit::Error::InvalidResponse($wit::ResponseError {
                        message,
                        dixa_may_have_acted,
                    }),
                }
            }
        }
        impl $crate::wit::Convert<$crate::Error> for $wit::Error {
            fn convert(self) -> $crate::Error {
                use $crate::Error as E;
                match self {
                    $wit::Error::InvalidInput($wit::InvalidInput { field, reason }) => {
                        E::InvalidInput { field, reason }
                    }
                    $wit::Error::Configuration(detail) => E::Configuration(detail),
                    $wit::Error::MissingCredentials => E::MissingCredentials,
                    $wit::Error::Unauthorized(message) => E::Unauthorized(message),
                    $wit::Error::NotFound(message) => E::NotFound(message),
                    $wit::Error::RateLimited(retry_after_seconds) => E::RateLimited {
                        retry_after_seconds,
                    },
                    $wit::Error::Api($wit::ApiError {
                        status,
                        message,
                        dixa_may_have_acted,
                    }) => E::Api {
                        status,
                        message,
                        dixa_may_have_acted,
                    },
                    $wit::Error::Transport($wit::TransportError {
                        kind,
                        message,
                        dixa_may_have_acted,
                    }) => E::Transport {
                        kind: $crate::wit::Convert::convert(kind),
                        message,
                        dixa_may_have_acted,
                    },
                    $wit::Error::InvalidResponse($wit::ResponseError {
                        message,
                        dixa_may_have_acted,
                    }) => E::InvalidResponse {
                        message,
                        dixa_may_have_acted,
                    },
                }
            }
        }
        $crate::__wit_from! { $wit; Error }
    };
}

/// Records whose fields have the same names on both sides.
#[doc(hidden)]
#[macro_export]
macro_rules! __wit_records {
    ($wit:ident; $($name:ident { $($field:ident),* })*) => {
        $(
            impl $crate::wit::Convert<$wit::$name> for $crate::types::$name {
                fn convert(self) -> $wit::$name {
                    $wit::$name {
                        $($field: $crate::wit::Convert::convert(self.$field),)*
                    }
                }
            }
            impl $crate::wit::Convert<$crate::types::$name> for $wit::$name {
                fn convert(self) -> $crate::types::$name {
                    $crate::types::$name {
                        $($field: $crate::wit::Convert::convert(self.$field),)*
                    }
                }
            }
            $crate::__wit_from! { $wit; types::$name }
        )*
    };
}

/// Enums of unit cases with the same names on both sides.
#[doc(hidden)]
#[macro_export]
macro_rules! __wit_enums {
    ($wit:ident; $($module:ident :: $name:ident { $($case:ident),* })*) => {
        $(
            impl $crate::wit::Convert<$wit::$name> for $crate::$module::$name {
                fn convert(self) -> $wit::$name {
                    match self {
                        $($crate::$module::$name::$case => $wit::$name::$case,)*
                    }
                }
            }
            impl $crate::wit::Convert<$crate::$module::$name> for $wit::$name {
                fn convert(self) -> $crate::$module::$name {
                    match self {
                        $($wit::$name::$case => $crate::$module::$name::$case,)*
                    }
                }
            }
            $crate::__wit_from! { $wit; $module::$name }
        )*
    };
}

/// `From` both ways for a type that has its [`Convert`] impls.
#[doc(hidden)]
#[macro_export]
macro_rules! __wit_from {
    ($wit:ident; $module:ident :: $name:ident) => {
        impl From<$crate::$module::$name> for $wit::$name {
            fn from(value: $crate::$module::$name) -> Self {
                $crate::wit::Convert::convert(value)
            }
        }
        impl From<$wit::$name> for $crate::$module::$name {
            fn from(value: $wit::$name) -> Self {
                $crate::wit::Convert::convert(value)
            }
        }
    };
    ($wit:ident; $name:ident) => {
        impl From<$crate::$name> for $wit::$name {
            fn from(value: $crate::$name) -> Self {
                $crate::wit::Convert::convert(value)
            }
        }
        impl From<$wit::$name> for $crate::$name {
            fn from(value: $wit::$name) -> Self {
                $crate::wit::Convert::convert(value)
            }
        }
    };
}
