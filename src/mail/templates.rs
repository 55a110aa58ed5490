//! The mails accountd sends, one function each: the recipient, the subject and the text.

use super::Mail;

fn mail(to: &str, subject: &str, body: String) -> Mail {
    Mail {
        to: to.to_string(),
        subject: subject.to_string(),
        body,
    }
}

/// To the old address, after an email change: who did not make it should act at once.
pub fn email_changed(to: &str, new: &str) -> Mail {
    mail(
        to,
        "Your accountd email address was changed",
        format!(
            "The email address of your accountd user was changed from this address to {new}.\n\
             If you did not ask for this, tell your account's administrator at once.\n"
        ),
    )
}

/// To a new address a user asked to move to.
pub fn confirm_email(to: &str, code: &str) -> Mail {
    mail(
        to,
        "Confirm your new accountd email address",
        format!(
            "Your code is:\n\n{code}\n\nIt works once, for 24 hours, and makes this your \
             login address:\nPOST /user/email/confirm {{\"code\": \"{code}\"}}\n\
             If you did not ask for this, ignore this mail.\n"
        ),
    )
}

/// To a new address that another user already has: the move is not made, and the answer to
/// the caller does not tell.
pub fn email_in_use(to: &str) -> Mail {
    mail(
        to,
        "Someone tried to move an accountd user to your address",
        "Someone asked to make this address the login of an accountd user, but it already \
         belongs to one, so nothing was changed.\nIf it was you, log in with this address.\n"
            .to_string(),
    )
}

pub fn confirmation(to: &str, code: &str) -> Mail {
    mail(
        to,
        "Confirm your accountd registration",
        format!(
            "Your confirmation code is:\n\n{code}\n\nIt works once, for 24 hours:\n\
             POST /v1/register/confirm {{\"code\": \"{code}\"}}\n"
        ),
    )
}

pub fn invitation(to: &str, code: &str) -> Mail {
    mail(
        to,
        "You are invited to accountd",
        format!(
            "Your invitation code is:\n\n{code}\n\nIt works once, for 7 days. Choose your password with:\n\
             POST /user/login {{\"invite\": \"{code}\", \"password\": \"...\"}}\n"
        ),
    )
}

pub fn reset(to: &str, code: &str) -> Mail {
    mail(
        to,
        "Reset your accountd password",
        format!(
            "Your password reset code is:\n\n{code}\n\nIt works once, for 1 hour:\n\
             POST /v1/password/reset {{\"code\": \"{code}\", \"password\": \"...\"}}\n\
             If you did not ask for it, ignore this mail.\n"
        ),
    )
}

pub fn already_registered(to: &str) -> Mail {
    mail(
        to,
        "Someone tried to register with your address",
        "Someone tried to register a new accountd account with this address, which already has one.\n\
         If it was you, log in, or reset your password with POST /v1/password/forgot.\n\
         If it was not, you need do nothing.\n"
            .to_string(),
    )
}

pub fn username_taken(to: &str, username: &str) -> Mail {
    mail(
        to,
        "Choose another username",
        format!(
            "Someone (you?) tried to register with this address and the username \"{username}\",\n\
             which is taken. Register again with another username, or none.\n"
        ),
    )
}
