//! A component of the connector world that misbehaves on purpose, to prove the
//! host's limits: `create-internal-note` with message "allocate" grabs memory
//! without bound, "spin" loops forever; any other message succeeds at once.
//! The other operations answer `invalid-input`.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "dixa:connector/connector",
        generate_all,
    });

    use dixa::connector::types::{
        Error, Message, MessageInput, Note, NoteInput, TagInput, TagResult,
    };
    use exports::dixa::connector::conversations::Guest;

    struct Hostile;

    impl Guest for Hostile {
        fn create_internal_note(input: NoteInput) -> Result<Note, Error> {
            match input.message.as_str() {
                "allocate" => {
                    let mut hoard: Vec<Vec<u8>> = Vec::new();
                    loop {
                        hoard.push(std::hint::black_box(vec![1; 1 << 20]));
                    }
                }
                "spin" => loop {
                    std::hint::black_box(());
                },
                _ => Ok(Note {
                    id: "hostile".into(),
                    author_id: "hostile".into(),
                    created_at: "2021-12-01T12:46:36.581Z".into(),
                    message: input.message,
                }),
            }
        }

        fn add_message(_: MessageInput) -> Result<Message, Error> {
            Err(Error::InvalidInput("not part of the fixture".into()))
        }

        fn tag_conversation(_: TagInput) -> Result<TagResult, Error> {
            Err(Error::InvalidInput("not part of the fixture".into()))
        }
    }

    export!(Hostile);
}
